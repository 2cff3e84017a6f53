/**
 * Multipart upload that streams each part straight from the source body — no part buffers,
 * so memory stays at a few socket buffers per object whatever the part size or concurrency.
 * Create/Complete/Abort go through the SDK client (a few per object); each UploadPart is one
 * signed PUT with Content-Length = part length. A part cannot be replayed from a stream, so
 * any failure aborts the upload (nothing is left behind) and the whole object is retried by
 * the caller.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ShortBodyError } from '../errors.ts';
import type { ObjectRequests } from './object-requests.ts';

/** S3 allows at most 10,000 parts; parts grow beyond `partSize` for objects that need it. */
const MAX_PARTS = 10_000;

/** Hands out consecutive slices of a stream as streams of exact length. */
export class StreamSlicer {
  private readonly chunks: AsyncIterator<Buffer>;
  private leftover: Buffer | null = null;
  private taken = 0;

  constructor(
    body: Readable,
    private readonly total: number,
  ) {
    this.chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** A stream of the next `length` bytes (read lazily, as the consumer pulls). */
  next(length: number): Readable {
    const slicer = this;
    async function* slice(): AsyncGenerator<Buffer> {
      let remaining = length;
      while (remaining > 0) {
        let chunk = slicer.leftover;
        slicer.leftover = null;
        if (!chunk) {
          const result = await slicer.chunks.next();
          if (result.done) throw new ShortBodyError(slicer.total, slicer.taken);
          chunk = result.value;
        }
        if (chunk.length > remaining) {
          slicer.leftover = chunk.subarray(remaining);
          chunk = chunk.subarray(0, remaining);
        }
        remaining -= chunk.length;
        slicer.taken += chunk.length;
        yield chunk;
      }
    }
    return Readable.from(slice(), { objectMode: false });
  }
}

export function partLength(size: number, partSize: number): number {
  return Math.max(partSize, Math.ceil(size / MAX_PARTS));
}

export interface StreamingMultipartOptions {
  client: S3Client;
  requests: ObjectRequests;
  /** CreateMultipartUpload parameters: Bucket, Key (full), ContentType, CacheControl, ACL, StorageClass. */
  create: CreateMultipartUploadCommandInput & { Bucket: string; Key: string };
  size: number;
  partSize: number;
  signal?: AbortSignal;
}

export async function streamingMultipartUpload(
  body: Readable,
  options: StreamingMultipartOptions,
): Promise<string | undefined> {
  const { client, requests, create, size, signal } = options;
  const started = await client.send(new CreateMultipartUploadCommand(create), { abortSignal: signal });
  const uploadId = started.UploadId!;
  const bucketKey = { Bucket: create.Bucket, Key: create.Key, UploadId: uploadId };
  try {
    const slicer = new StreamSlicer(body, size);
    const length = partLength(size, options.partSize);
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    for (let offset = 0, partNumber = 1; offset < size; offset += length, partNumber++) {
      const bytes = Math.min(length, size - offset);
      const etag = await requests.put(
        create.Key,
        slicer.next(bytes),
        { 'content-length': String(bytes) },
        signal,
        { partNumber: String(partNumber), uploadId },
      );
      parts.push({ PartNumber: partNumber, ETag: `"${etag ?? ''}"` });
    }
    const done = await client.send(
      new CompleteMultipartUploadCommand({ ...bucketKey, MultipartUpload: { Parts: parts } }),
      { abortSignal: signal },
    );
    return done.ETag?.replace(/^"|"$/g, '');
  } catch (error) {
    body.destroy();
    await client.send(new AbortMultipartUploadCommand(bucketKey)).catch(() => {});
    throw error;
  }
}
