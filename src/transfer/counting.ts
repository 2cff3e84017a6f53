/**
 * The stream handed to a store's write: the store's own size check (storage/exact-size.ts: a
 * body that ends short or runs long fails, nothing partial is committed) plus counting the
 * bytes as they pass, for progress. One transform on the copy path: a store given a body that
 * is already held to its size does not wrap it again.
 */
import type { TransformCallback } from 'node:stream';
import { ExactSizeBody } from '../storage/exact-size.ts';

export class CountingStream extends ExactSizeBody {
  constructor(
    expected: number,
    private readonly onBytes: (n: number) => void,
  ) {
    super(expected);
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, done: TransformCallback): void {
    super._transform(chunk, encoding, (error, data) => {
      if (!error) this.onBytes(chunk.length);
      done(error, data);
    });
  }

  get bytes(): number {
    return this.receivedBytes;
  }
}
