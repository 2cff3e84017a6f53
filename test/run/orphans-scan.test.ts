/**
 * scanPrefix pages through a store in its own (UTF-8) order: a page that ends at a key with a
 * character from U+E000 up, followed by emoji keys, must not drop them (UTF-16 comparison
 * would, as U+E000 sorts after surrogates there).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeySet, scanPrefix } from '../../src/run/orphans.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

describe('orphans scan order', () => {
  test('keys past U+E000 and emoji keys across page ends are all seen, once', async () => {
    const store = new MemoryStore({ pageSize: 2 });
    const keys = [
      'accounts/a',
      'accounts/\u{E000}x',
      'accounts/\u{1F600}y',
      'accounts/\u{1F601}z',
      'accounts/\u{FFFD}w',
    ];
    for (const key of keys) store.put(key, Buffer.from(key));
    const referenced = new KeySet();
    referenced.add('accounts/a');
    const orphans: string[] = [];
    let requests = 0;
    const scan = await scanPrefix(
      store,
      'accounts/',
      referenced,
      async (item) => {
        orphans.push(item.key);
      },
      () => {
        requests++;
      },
    );
    assert.equal(scan.listed, keys.length);
    assert.equal(scan.referenced, 1);
    assert.deepEqual(orphans.sort(), keys.slice(1).sort());
    assert.ok(requests >= 3, `${requests} pages`);
  });
});
