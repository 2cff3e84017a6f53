/** PartWriter: bytes go into consecutive parts of exact length; short and long bodies fail. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { ShortBodyError } from '../../src/storage/errors.ts';
import { PartWriter, partLength } from '../../src/storage/s3/multipart.ts';

/** A fake UploadPart request that keeps what was written; `write` reports backpressure now and then. */
function fakeParts() {
  const parts: Array<{ number: number; declared: number; bytes: Buffer[]; ended: boolean }> = [];
  const open = (partNumber: number, length: number) => {
    const part = { number: partNumber, declared: length, bytes: [] as Buffer[], ended: false };
    parts.push(part);
    const request = Object.assign(new EventEmitter(), {
      write(chunk: Buffer) {
        part.bytes.push(Buffer.from(chunk));
        if (part.bytes.length % 3 === 0) {
          setImmediate(() => request.emit('drain'));
          return false;
        }
        return true;
      },
      end() {
        part.ended = true;
      },
      destroy() {},
    });
    const response = Promise.resolve({
      statusCode: 200,
      headers: { etag: `"etag-${partNumber}"` },
    } as unknown as IncomingMessage);
    return { request: request as unknown as ClientRequest, response };
  };
  const etagOf = async (response: IncomingMessage) => String(response.headers.etag).replace(/"/g, '');
  return { parts, open, etagOf };
}

function chunked(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return Readable.from(chunks, { objectMode: false });
}

describe('PartWriter', () => {
  for (const [total, partSize, chunk] of [
    [100, 30, 7],
    [90, 30, 30],
    [90, 30, 64],
    [1, 30, 1],
    [1000, 1000, 333],
  ] as const) {
    test(`${total} bytes in parts of ${partSize}, chunks of ${chunk}`, async () => {
      const data = randomBytes(total);
      const { parts, open, etagOf } = fakeParts();
      const writer = new PartWriter(total, partSize, open, etagOf);
      await pipeline(chunked(data, chunk), writer);
      assert.equal(parts.length, Math.ceil(total / partSize));
      for (const part of parts) {
        const bytes = Buffer.concat(part.bytes);
        assert.equal(bytes.length, part.declared, `part ${part.number} length`);
        assert.ok(part.ended, `part ${part.number} ended`);
      }
      assert.deepEqual(Buffer.concat(parts.flatMap((p) => p.bytes)), data);
      assert.deepEqual(
        writer.parts,
        parts.map((p) => ({ PartNumber: p.number, ETag: `"etag-${p.number}"` })),
      );
    });
  }

  test('a body shorter than its size fails with ShortBodyError', async () => {
    const { open, etagOf } = fakeParts();
    await assert.rejects(
      pipeline(chunked(randomBytes(50), 10), new PartWriter(60, 30, open, etagOf)),
      ShortBodyError,
    );
  });

  test('a body longer than its size fails', async () => {
    const { open, etagOf } = fakeParts();
    await assert.rejects(
      pipeline(chunked(randomBytes(70), 10), new PartWriter(60, 30, open, etagOf)),
      /longer/,
    );
  });

  test('a part the server refuses fails the upload', async () => {
    const { open } = fakeParts();
    const refuse = async () => {
      throw new Error('HTTP 500');
    };
    await assert.rejects(
      pipeline(chunked(randomBytes(60), 10), new PartWriter(60, 30, open, refuse)),
      /HTTP 500/,
    );
  });

  test('part length grows so no object needs more than 10,000 parts', () => {
    assert.equal(partLength(100, 8), 8);
    assert.equal(partLength(200_000, 8), 20);
  });
});
