/** readExactly: a small object's whole body, or a retryable error — never a partial buffer. */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { ShortBodyError, StoreError } from '../../src/storage/errors.ts';
import { readExactly } from '../../src/storage/exact-size.ts';

const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

describe('readExactly', () => {
  test('one chunk or many: the same bytes', async () => {
    assert.equal((await readExactly(chunks('hello'), 5)).toString(), 'hello');
    assert.equal((await readExactly(chunks('he', 'l', 'lo'), 5)).toString(), 'hello');
    assert.equal((await readExactly(chunks(), 0)).length, 0);
  });

  test('short: ShortBodyError (retryable)', async () => {
    await assert.rejects(readExactly(chunks('hel'), 5), (e: unknown) => {
      assert.ok(e instanceof ShortBodyError);
      assert.equal(e.kind, 'retryable');
      return true;
    });
  });

  test('long: retryable, and the source is destroyed', async () => {
    const body = chunks('hello', ' world');
    await assert.rejects(
      readExactly(body, 5),
      (e: unknown) => e instanceof StoreError && e.kind === 'retryable',
    );
    assert.ok(body.destroyed);
  });

  test('a failing source rejects with its error', async () => {
    const body = new PassThrough();
    const read = readExactly(body, 10);
    body.write('abc');
    body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await assert.rejects(read, /socket hang up/);
  });

  test('a source closed without end or error is short', async () => {
    const body = new PassThrough();
    const read = readExactly(body, 10);
    body.write('abc');
    body.destroy();
    await assert.rejects(read, (e: unknown) => e instanceof ShortBodyError);
  });
});
