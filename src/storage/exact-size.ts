/**
 * A write's body held to its declared size, so that no store ever commits a short or long
 * object: bytes past `size` fail the stream at once, and the last chunk is held back until the
 * source has ended — a server therefore never receives all `size` bytes (and commits) unless
 * the source ended exactly there. A short source fails with ShortBodyError (retryable).
 * Holding back one chunk costs at most one source chunk of memory.
 */
import { Transform, type TransformCallback } from 'node:stream';
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
      done(new StoreError('retryable', `body longer than its ${this.size} bytes`));
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
export function exactSize(body: import('node:stream').Readable, size: number): ExactSizeBody {
  if (body instanceof ExactSizeBody && body.size === size) return body;
  const sized = new ExactSizeBody(size);
  body.on('error', (error) => sized.destroy(error));
  body.pipe(sized);
  return sized;
}
