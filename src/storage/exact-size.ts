/**
 * A write's body held to its declared size, so that no store ever commits a short or long
 * object: bytes past `size` fail the stream at once, and the last chunk is held back until the
 * source has ended — a server therefore never receives all `size` bytes (and commits) unless
 * the source ended exactly there. A short source fails with ShortBodyError (retryable).
 * Holding back one chunk costs at most one source chunk of memory.
 */
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { ShortBodyError, StoreError } from './errors.ts';

export class ExactSizeBody extends Transform {
  private received = 0;
  private held: Buffer | null = null;

  constructor(readonly size: number) {
    super();
  }

  /** Bytes received from the source so far (including any refused as too many). */
  get receivedBytes(): number {
    return this.received;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) {
      done(longBodyError(this.size));
      return;
    }
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.size) {
      done(new ShortBodyError(this.size, this.received));
      return;
    }
    if (this.held) this.push(this.held);
    this.held = null;
    done();
  }
}

/**
 * `body` held to `size`: as it is when it already is an ExactSizeBody of that size (the copy
 * path's counting stream), else piped through one; an error of `body` fails it too.
 */
export function exactSize(body: Readable, size: number): ExactSizeBody {
  if (body instanceof ExactSizeBody && body.size === size) return body;
  const sized = new ExactSizeBody(size);
  body.on('error', (error) => sized.destroy(error));
  body.pipe(sized);
  return sized;
}

/** A body longer than it was declared: retryable (the object may be changing under us). */
function longBodyError(size: number): StoreError {
  return new StoreError('retryable', `body longer than its ${size} bytes`);
}

/**
 * The whole of `body` in one buffer, which must be exactly `size` bytes: for small objects,
 * read before their write begins, so that a short, long or failed source never reaches the
 * destination at all, and the write is one request with one buffer (no stream layers).
 */
export function readExactly(body: Readable, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (error) {
        body.destroy();
        reject(error);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > size) settle(longBodyError(size));
      else chunks.push(chunk);
    });
    body.once('end', () => settle(received === size ? null : new ShortBodyError(size, received)));
    body.once('error', (error) => settle(error));
    // Destroyed without an error (a reset socket may only close): as short as it got.
    body.once('close', () => {
      if (!settled) settle(new ShortBodyError(size, received)); // an error is costly: only if used
    });
  });
}
