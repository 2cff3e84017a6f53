/**
 * Multipart upload that writes each part straight from the source body — no part buffers,
 * so memory stays at a few socket buffers per object whatever the part size or concurrency.
 * Create/Complete/Abort go through the SDK client (a few per object); each UploadPart is one
 * signed PUT with Content-Length = part length. A part cannot be replayed from a stream, so
 * any failure aborts the upload (nothing is left behind) and the whole object is retried by
 * the caller.
 */
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CreateMultipartUploadCommandInput } from '@aws-sdk/client-s3';
import { ShortBodyError, StoreError } from '../errors.ts';
import type { UploadJournal } from '../upload-journal.ts';
import type { LoadedSdk } from './client.ts';
import type { ObjectRequests } from './object-requests.ts';

/** S3 allows at most 10,000 parts; parts grow beyond `partSize` for objects that need it. */
const MAX_PARTS = 10_000;

/**
 * The writable end of a streaming multipart upload: bytes written here go straight into the
 * current UploadPart request; at each part boundary that request is ended and its response
 * awaited before the next part starts (which is also the backpressure on the source).
 */
export class PartWriter extends Writable {
  readonly parts: Array<{ PartNumber: number; ETag: string }> = [];
  private current: { request: ClientRequest; response: Promise<IncomingMessage> } | null = null;
  private partNumber = 0;
  private partLeft = 0;
  private received = 0;

  constructor(
    private readonly size: number,
    private readonly partSize: number,
    private readonly openPart: (
      partNumber: number,
      length: number,
    ) => { request: ClientRequest; response: Promise<IncomingMessage> },
    private readonly etagOf: (response: IncomingMessage) => Promise<string | undefined>,
  ) {
    super();
  }

  private async startPart(): Promise<void> {
    this.partNumber++;
    this.partLeft = Math.min(this.partSize, this.size - this.received);
    this.current = this.openPart(this.partNumber, this.partLeft);
    // Awaited in finishPart; if the part is destroyed first (a failing or aborted body), its
    // rejection must not go unobserved (an unhandled rejection ends the process).
    this.current.response.catch(() => {});
  }

  private async finishPart(): Promise<void> {
    const part = this.current!;
    this.current = null;
    part.request.end();
    const etag = await this.etagOf(await part.response);
    this.parts.push({ PartNumber: this.partNumber, ETag: `"${etag ?? ''}"` });
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    if (this.received + chunk.length > this.size)
      throw new StoreError('retryable', `body longer than its ${this.size} bytes`);
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) await this.startPart();
      const take = Math.min(this.partLeft, chunk.length - offset);
      const request = this.current!.request;
      const flushed = request.write(chunk.subarray(offset, offset + take));
      offset += take;
      this.partLeft -= take;
      this.received += take;
      if (this.partLeft === 0) await this.finishPart();
      else if (!flushed) await once(request, 'drain');
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.writeChunk(chunk).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.received !== this.size) done(new ShortBodyError(this.size, this.received));
    else done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.current?.request.destroy(error ?? undefined);
    done(error);
  }
}

export function partLength(size: number, partSize: number): number {
  return Math.max(partSize, Math.ceil(size / MAX_PARTS));
}

export interface StreamingMultipartOptions {
  /** The SDK client (Create/Complete/Abort) and its module. */
  sdk: LoadedSdk;
  requests: ObjectRequests;
  /** CreateMultipartUpload parameters: Bucket, Key (full), ContentType, CacheControl, ACL, StorageClass. */
  create: CreateMultipartUploadCommandInput & { Bucket: string; Key: string };
  size: number;
  partSize: number;
  signal?: AbortSignal;
  /** Told when an upload opens and ends, so a killed run's leftovers can be aborted later. */
  journal?: UploadJournal;
}

export async function streamingMultipartUpload(
  body: Readable,
  options: StreamingMultipartOptions,
): Promise<string | undefined> {
  const { requests, create, size, signal } = options;
  const { client, sdk } = options.sdk;
  const started = await client.send(new sdk.CreateMultipartUploadCommand(create), { abortSignal: signal });
  const uploadId = started.UploadId!;
  const bucketKey = { Bucket: create.Bucket, Key: create.Key, UploadId: uploadId };
  options.journal?.started(create.Key, uploadId);
  try {
    const writer = new PartWriter(
      size,
      partLength(size, options.partSize),
      (partNumber, length) =>
        requests.open('PUT', create.Key, { 'content-length': String(length) }, signal, {
          partNumber: String(partNumber),
          uploadId,
        }),
      (response) => requests.etagOf(response),
    );
    await pipeline(body, writer);
    const parts = writer.parts;
    const done = await client.send(
      new sdk.CompleteMultipartUploadCommand({ ...bucketKey, MultipartUpload: { Parts: parts } }),
      { abortSignal: signal },
    );
    options.journal?.ended(uploadId);
    return done.ETag?.replace(/^"|"$/g, '');
  } catch (error) {
    body.destroy();
    await client
      .send(new sdk.AbortMultipartUploadCommand(bucketKey))
      .then(() => options.journal?.ended(uploadId))
      .catch(() => {}); // left in the journal: the next run tries again
    throw error;
  }
}
