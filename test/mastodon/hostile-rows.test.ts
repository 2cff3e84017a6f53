/**
 * Hostile and corrupt rows through the catalog and the key-safety check: never a crash, ids kept
 * digit for digit, sizes that cannot be true dropped, and every key that could leave a
 * destination root flagged (sync reports such a row's keys as failed and skips them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import { unsafeKeyReason } from '../../src/storage/keys.ts';

function media(id: string, name: unknown, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 0,
    file_file_name: name,
    file_content_type: 'image/png',
    file_file_size: 10,
    file_storage_schema_version: 1,
    remote_url: '',
    ...extra,
  };
}

describe('hostile rows', () => {
  it('ids 0 and negative reference nothing; junk ids too', () => {
    for (const id of ['0', '-1', '-99', '000', '', 'abc', '1e3', '12 ', null as unknown as string]) {
      assert.deepEqual(keysForRow('media_attachments', media(id, 'a.png')), [], `id ${JSON.stringify(id)}`);
    }
  });

  it('a 25-digit id keeps every digit in the record id, and its key is safe', () => {
    const id = '1234567890123456789012345';
    const keys = keysForRow('media_attachments', media(id, 'a.png'));
    assert.ok(keys.length > 0);
    for (const k of keys) {
      assert.equal(k.id, id);
      assert.equal(unsafeKeyReason(k.key), null, k.key);
    }
  });

  it('names that leave the root, hold a backslash, NUL or control characters are flagged', () => {
    for (const name of [
      '../../etc/passwd',
      'a/../b.png',
      '..',
      '.',
      'a\\b.png',
      'nul\u0000.png',
      'bell\u0007.png',
      'del\u007f.png',
      'esc\u001b[31m.png',
      '/abs.png',
      'a//b.png',
    ]) {
      const keys = keysForRow('media_attachments', media('31000001', name));
      assert.ok(keys.length > 0, name);
      assert.ok(
        keys.some((k) => unsafeKeyReason(k.key) !== null),
        `${JSON.stringify(name)} should be refused: ${keys.map((k) => k.key).join(', ')}`,
      );
    }
  });

  it('a 4 KB name gives keys longer than S3 allows: flagged', () => {
    const keys = keysForRow('media_attachments', media('31000002', `${'x'.repeat(4096)}.png`));
    assert.ok(keys.every((k) => unsafeKeyReason(k.key) === 'key longer than 1024 bytes'));
  });

  it('unicode names are fine, byte for byte', () => {
    const keys = keysForRow('media_attachments', media('31000003', 'ünïcødé-🐘.png'));
    assert.equal(keys[0]!.key, 'media_attachments/files/031/000/003/original/ünïcødé-🐘.png');
    assert.equal(unsafeKeyReason(keys[0]!.key), null);
  });

  it('NULL or empty names reference nothing; non-string names too', () => {
    for (const name of [null, undefined, '', 42, {}]) {
      assert.deepEqual(keysForRow('media_attachments', media('31000004', name)), [], String(name));
    }
  });

  it('NULL content types fall back to the extension, never to octet-stream for a known one', () => {
    const [original] = keysForRow(
      'media_attachments',
      media('31000005', 'a.jpeg', { file_content_type: null }),
    );
    assert.equal(original!.contentType, 'image/jpeg');
  });

  it('absurd sizes are dropped, not trusted', () => {
    for (const size of ['-1', -5, '99999999999999999999', 'NaN', 1.5, 'ten']) {
      const [original] = keysForRow(
        'media_attachments',
        media('31000006', 'a.png', { file_file_size: size }),
      );
      assert.equal(original!.size, null, `size ${JSON.stringify(size)}`);
    }
    const [big] = keysForRow(
      'media_attachments',
      media('31000007', 'a.png', { file_file_size: '8000000000' }),
    );
    assert.equal(big!.size, 8_000_000_000);
  });
});
