/**
 * The stream handed to a store's write: counts bytes as they pass (for progress), and fails
 * when the source body ends before its Content-Length or runs past it — so a short object is
 * never written, only retried.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ShortBodyError, StoreError } from '../storage/errors.ts';

export class CountingStream extends Transform {
  private received = 0;

  constructor(
    private readonly expected: number,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.expected) {
      done(new StoreError('retryable', `body longer than its ${this.expected} bytes`));
      return;
    }
    this.onBytes(chunk.length);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.received === this.expected ? null : new ShortBodyError(this.expected, this.received));
  }

  get bytes(): number {
    return this.received;
  }
}
