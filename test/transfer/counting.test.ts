/**
 * CountingStream: passes an exact body through unchanged and counts it; a body that ends short
 * or runs long fails the pipeline (so a store never writes a truncated object).
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { isStoreError, ShortBodyError, StoreError } from '../../src/storage/errors.ts';
import { CountingStream } from '../../src/transfer/counting.ts';

/** A sink that keeps every chunk. */
function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  if (at < data.length) chunks.push(data.subarray(at));
  return chunks;
}

const DATA = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) % 256));

describe('CountingStream', () => {
  const EXACT: Array<[name: string, data: Buffer, sizes: number[]]> = [
    ['one chunk', DATA, [DATA.length]],
    ['many small chunks', DATA, Array.from({ length: 100 }, () => 100)],
    ['uneven chunks', DATA, [1, 2, 3, 4_000, 5_994]],
    ['empty body, size 0', Buffer.alloc(0), []],
    ['single byte', Buffer.from([42]), [1]],
  ];
  for (const [name, data, sizes] of EXACT) {
    test(`exact body passes through unchanged: ${name}`, async () => {
      const seen: number[] = [];
      const counting = new CountingStream(data.length, (n) => seen.push(n));
      const { sink, bytes } = collector();
      await pipeline(Readable.from(chunked(data, sizes)), counting, sink);
      assert.deepEqual(bytes(), data);
      assert.equal(counting.bytes, data.length);
      assert.equal(
        seen.reduce((a, b) => a + b, 0),
        data.length,
      );
      assert.ok(seen.every((n) => n > 0));
    });
  }

  const SHORT: Array<[expected: number, data: Buffer]> = [
    [DATA.length, DATA.subarray(0, DATA.length - 1)],
    [DATA.length, DATA.subarray(0, 5_000)],
    [DATA.length, Buffer.alloc(0)],
    [1, Buffer.alloc(0)],
  ];
  for (const [expected, data] of SHORT) {
    test(`short body (${data.length} of ${expected}) rejects with ShortBodyError`, async () => {
      const counting = new CountingStream(expected, () => {});
      const { sink } = collector();
      await assert.rejects(
        pipeline(Readable.from(chunked(data, [1_000, 1_000])), counting, sink),
        (error) => {
          assert.ok(error instanceof ShortBodyError, String(error));
          assert.ok(isStoreError(error, 'retryable'), 'a short body is worth another attempt');
          assert.match((error as Error).message, new RegExp(`${data.length} of ${expected}`));
          return true;
        },
      );
      assert.equal(counting.bytes, data.length);
    });
  }

  const LONG: Array<[expected: number, data: Buffer, sizes: number[]]> = [
    [DATA.length - 1, DATA, [DATA.length]],
    [DATA.length - 1, DATA, [9_999, 1]],
    [0, Buffer.from([1]), [1]],
    [100, DATA, [50, 50, 50]],
  ];
  for (const [expected, data, sizes] of LONG) {
    test(`long body (${data.length} for ${expected}, chunks ${sizes.join('+')}) rejects retryable`, async () => {
      const seen: number[] = [];
      const counting = new CountingStream(expected, (n) => seen.push(n));
      const { sink, bytes } = collector();
      await assert.rejects(pipeline(Readable.from(chunked(data, sizes)), counting, sink), (error) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.ok(!(error instanceof ShortBodyError));
        assert.equal(error.kind, 'retryable');
        assert.match(error.message, /longer/);
        return true;
      });
      // Never more than `expected` bytes reach the destination or the byte counter.
      assert.ok(bytes().length <= expected, `${bytes().length} bytes passed`);
      assert.ok(seen.reduce((a, b) => a + b, 0) <= expected);
    });
  }

  test('an error from the source propagates through the pipeline', async () => {
    const counting = new CountingStream(DATA.length, () => {});
    const { sink } = collector();
    const boom = new Error('socket hang up');
    async function* source() {
      yield DATA.subarray(0, 100);
      throw boom;
    }
    await assert.rejects(pipeline(Readable.from(source()), counting, sink), (error) => error === boom);
  });

  test('onBytes is called per chunk in order, summing to the size', async () => {
    const seen: number[] = [];
    const counting = new CountingStream(10, (n) => seen.push(n));
    const { sink } = collector();
    await pipeline(
      Readable.from([Buffer.from('abc'), Buffer.from('defg'), Buffer.from('hij')]),
      counting,
      sink,
    );
    assert.deepEqual(seen, [3, 4, 3]);
  });
});
