/**
 * An S3-compatible bucket as an ObjectStore. Small objects go up with one PutObject streamed
 * from the source (Content-Length set, Content-MD5 when known, so a short or corrupted body is
 * refused by the server); large ones with lib-storage's multipart Upload, whose part buffers
 * are bounded by a store-wide semaphore and which aborts the upload on failure.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectCannedACL, StorageClass } from '@aws-sdk/client-s3';
import { applyKeyPrefix } from '../../lib/key-prefix.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import { type AccessClass, accessOfGrants } from '../acl.ts';
import { StoreError } from '../errors.ts';
import { exactSize } from '../exact-size.ts';
import type {
  ListPage,
  ObjectInfo,
  ObjectStore,
  ReplacedMetadata,
  StoredMetadata,
  StoreFeatures,
  WriteOptions,
} from '../types.ts';
import type { UploadJournal } from '../upload-journal.ts';
import type { LazyS3Client, LoadedSdk } from './client.ts';
import { classifyS3Error, describeCheckError } from './errors.ts';
import { streamingMultipartUpload } from './multipart.ts';
import type { ObjectRequests } from './object-requests.ts';
import type { ProviderQuirks } from './providers.ts';

export interface S3StoreOptions {
  /** The SDK client, for what ObjectRequests does not send (loaded on first use). */
  client: LazyS3Client;
  bucket: string;
  /** Mastodon's S3_KEY_PREFIX ('' for none). */
  keyPrefix: string;
  /** Shown in messages: endpoint and bucket, never credentials. */
  endpointLabel: string;
  storageClass: string;
  multipartThreshold: number;
  partSize: number;
  /**
   * Multipart uploads in flight at once. Each holds up to (PART_QUEUE + 1) × partSize bytes,
   * so memory for large objects is bounded by maxMultipart × 3 × partSize whatever the
   * concurrency (default 4 × 3 × 8 MB ≈ 96 MB).
   */
  maxMultipart: number;
  /** Lean GetObject/PutObject (static credentials only); without it the SDK client sends them. */
  objectRequests?: ObjectRequests;
  /** Records open multipart uploads, so that a killed run's leftovers are aborted later. */
  journal?: UploadJournal;
  /** The provider's quirks (providers.ts): without ACLs, no ACL header or call is ever sent. */
  provider?: ProviderQuirks;
}

/** Parts of one multipart upload sent at once. */
const PART_QUEUE = 2;
/** The most keys one ListObjectsV2 page holds (S3's own limit). */
const LIST_MAX_KEYS = 1000;

/** A page size S3 accepts: a whole number from 1 to 1,000. */
function clampPageSize(maxKeys: number): number {
  return Math.min(LIST_MAX_KEYS, Math.max(1, Math.floor(maxKeys) || LIST_MAX_KEYS));
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

export class S3Store implements ObjectStore {
  readonly features: StoreFeatures = { listing: true, md5Etags: true };
  readonly description: string;
  private readonly multipart: Semaphore;

  constructor(private readonly options: S3StoreOptions) {
    this.description = `s3 ${options.endpointLabel}/${options.bucket}${options.keyPrefix ? ` (prefix ${options.keyPrefix})` : ''}`;
    this.multipart = new Semaphore(options.maxMultipart);
  }

  get bucket(): string {
    return this.options.bucket;
  }

  /** The SDK client and its module, loaded on first use. */
  private sdk(): Promise<LoadedSdk> {
    return this.options.client.get();
  }

  /** The bucket's key for a logical key. */
  fullKey(key: string): string {
    return applyKeyPrefix(this.options.keyPrefix, key);
  }

  private logicalKey(fullKey: string): string {
    const prefix = applyKeyPrefix(this.options.keyPrefix, '');
    return fullKey.startsWith(prefix) ? fullKey.slice(prefix.length) : fullKey;
  }

  async check({ signal }: { write: boolean; signal?: AbortSignal }): Promise<void> {
    try {
      // One key listed under the store's root (object-requests.ts checkBucket says why not HEAD).
      const root = applyKeyPrefix(this.options.keyPrefix, '');
      if (this.options.objectRequests) await this.options.objectRequests.checkBucket(root, signal);
      else {
        const { client, sdk } = await this.sdk();
        await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: root, MaxKeys: 1 }),
          { abortSignal: signal },
        );
      }
    } catch (error) {
      // A transient answer (503, reset) is worth another try; anything else is the config.
      const { kind } = classifyS3Error(error, 'bucket check');
      throw new StoreError(
        kind === 'retryable' || kind === 'throttled' ? kind : 'fatal',
        describeCheckError(error, this.options.bucket, this.options.endpointLabel),
      );
    }
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    try {
      if (this.options.objectRequests) {
        const headers = await this.options.objectRequests.head(this.fullKey(key), signal);
        if (!headers) return null;
        const info: ObjectInfo = { key, size: Number(headers['content-length'] ?? 0) };
        const { etag, 'content-type': contentType, 'cache-control': cacheControl } = headers;
        if (etag) info.etag = stripQuotes(etag)!;
        if (contentType) info.contentType = contentType;
        if (cacheControl) info.cacheControl = cacheControl;
        return info;
      }
      const { client, sdk } = await this.sdk();
      const out = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }),
        { abortSignal: signal },
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        ...(out.ETag ? { etag: stripQuotes(out.ETag)! } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        ...(out.CacheControl ? { cacheControl: out.CacheControl } : {}),
      };
    } catch (error) {
      const classified = classifyS3Error(error, `HEAD ${key}`);
      if (classified.kind === 'gone') return null;
      throw classified;
    }
  }

  async read(key: string, signal?: AbortSignal): Promise<{ info: ObjectInfo; body: Readable }> {
    try {
      if (this.options.objectRequests) {
        const response = await this.options.objectRequests.get(this.fullKey(key), signal);
        const length = Number(response.headers['content-length']);
        if (!Number.isSafeInteger(length)) {
          response.destroy();
          throw new StoreError('retryable', `GET ${key}: no Content-Length`);
        }
        const info: ObjectInfo = { key, size: length };
        const { etag, 'content-type': contentType, 'cache-control': cacheControl } = response.headers;
        if (etag) info.etag = stripQuotes(etag)!;
        if (contentType) info.contentType = contentType;
        if (cacheControl) info.cacheControl = cacheControl;
        return { info, body: response };
      }
      const { client, sdk } = await this.sdk();
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }),
        { abortSignal: signal },
      );
      if (!out.Body || out.ContentLength === undefined)
        throw new StoreError('retryable', `GET ${key}: no body or length`);
      const info: ObjectInfo = { key, size: out.ContentLength };
      if (out.ETag) info.etag = stripQuotes(out.ETag)!;
      if (out.ContentType) info.contentType = out.ContentType;
      if (out.CacheControl) info.cacheControl = out.CacheControl;
      return { info, body: out.Body as Readable };
    } catch (error) {
      throw classifyS3Error(error, `GET ${key}`);
    }
  }

  /** The canned ACL to send, or null: none for a provider without ACLs (Cloudflare R2). */
  private aclFor(acl: string | null): string | null {
    return this.options.provider?.noAcl ? null : acl;
  }

  private commonWriteParams(key: string, options: Omit<WriteOptions, 'size' | 'md5'>) {
    const acl = this.aclFor(options.acl);
    return {
      Bucket: this.options.bucket,
      Key: this.fullKey(key),
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
      ...(acl ? { ACL: acl as ObjectCannedACL } : {}),
      ...(this.options.storageClass ? { StorageClass: this.options.storageClass as StorageClass } : {}),
    };
  }

  async write(key: string, source: Readable | Buffer, options: WriteOptions): Promise<{ etag?: string }> {
    if (Buffer.isBuffer(source)) {
      if (source.length !== options.size)
        throw new StoreError(
          'failed',
          `PUT ${key}: a ${source.length}-byte buffer for ${options.size} bytes`,
        );
      if (options.size > this.options.multipartThreshold)
        return this.write(key, Readable.from([source]), options);
      try {
        return await this.putObject(key, source, options);
      } catch (error) {
        throw classifyS3Error(error, `PUT ${key}`, { write: true });
      }
    }
    // Held to its declared size: a short or long source never becomes a visible object.
    const body = exactSize(source, options.size);
    if (options.size > this.options.multipartThreshold)
      return this.writeMultipart(key, body, source, options);
    // The SDK pipes the body into its request without an 'error' listener: a failing body
    // would be an uncaught exception there. It is caught here and aborts the request.
    let bodyError: unknown = null;
    const bodyFailed = new AbortController();
    body.once('error', (error) => {
      bodyError = error;
      bodyFailed.abort(error);
    });
    try {
      // The lean request destroys itself when its body fails; the SDK's needs the signal.
      if (this.options.objectRequests) return await this.putObject(key, body, options);
      const signal = options.signal
        ? AbortSignal.any([options.signal, bodyFailed.signal])
        : bodyFailed.signal;
      return await this.putObject(key, body, { ...options, signal });
    } catch (error) {
      source.destroy();
      body.destroy();
      throw classifyS3Error(bodyError ?? error, `PUT ${key}`, { write: true });
    }
  }

  /** One PutObject of `options.size` bytes, lean when the store can, else through the SDK. */
  private async putObject(
    key: string,
    body: Readable | Buffer,
    options: WriteOptions,
  ): Promise<{ etag?: string }> {
    const contentMd5 = options.md5 ? Buffer.from(options.md5, 'hex').toString('base64') : undefined;
    if (this.options.objectRequests) {
      const headers: Record<string, string> = {
        'content-length': String(options.size),
        'content-type': options.contentType,
        'cache-control': options.cacheControl,
      };
      const acl = this.aclFor(options.acl);
      if (acl) headers['x-amz-acl'] = acl;
      if (contentMd5) headers['content-md5'] = contentMd5;
      if (this.options.storageClass) headers['x-amz-storage-class'] = this.options.storageClass;
      const etag = await this.options.objectRequests.put(this.fullKey(key), body, headers, options.signal);
      return etag ? { etag } : {};
    }
    const { client, sdk } = await this.sdk();
    const out = await client.send(
      new sdk.PutObjectCommand({
        ...this.commonWriteParams(key, options),
        Body: body,
        ContentLength: options.size,
        ...(contentMd5 ? { ContentMD5: contentMd5 } : {}),
      }),
      { abortSignal: options.signal },
    );
    return out.ETag ? { etag: stripQuotes(out.ETag)! } : {};
  }

  private async writeMultipart(
    key: string,
    body: Readable,
    source: Readable,
    options: WriteOptions,
  ): Promise<{ etag?: string }> {
    if (this.options.objectRequests) {
      try {
        const etag = await streamingMultipartUpload(body, {
          sdk: await this.sdk(),
          requests: this.options.objectRequests,
          create: this.commonWriteParams(key, options),
          size: options.size,
          partSize: this.options.partSize,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(this.options.journal ? { journal: this.options.journal } : {}),
        });
        return etag ? { etag } : {};
      } catch (error) {
        source.destroy();
        throw classifyS3Error(error, `multipart PUT ${key}`, { write: true });
      }
    }
    // Without static credentials: lib-storage, which buffers parts (bounded by the semaphore).
    const [{ client }, { Upload }] = await Promise.all([this.sdk(), import('@aws-sdk/lib-storage')]);
    return this.multipart.run(async () => {
      const upload = new Upload({
        client,
        params: { ...this.commonWriteParams(key, options), Body: body },
        partSize: this.options.partSize,
        queueSize: PART_QUEUE,
        leavePartsOnError: false, // failed uploads are aborted, leaving nothing behind
      });
      const abort = () => void upload.abort().catch(() => {});
      options.signal?.addEventListener('abort', abort, { once: true });
      try {
        const out = await upload.done();
        return out.ETag ? { etag: stripQuotes(out.ETag)! } : {};
      } catch (error) {
        body.destroy();
        source.destroy();
        throw classifyS3Error(error, `multipart PUT ${key}`, { write: true });
      } finally {
        options.signal?.removeEventListener('abort', abort);
      }
    });
  }

  /** Server-side copy from another bucket of the same account (CopyObject, ≤ 5 GB). */
  async copyFrom(
    source: ObjectStore,
    sourceKey: string,
    key: string,
    options: Omit<WriteOptions, 'md5'>,
  ): Promise<boolean> {
    // UploadPartCopy (above 5 GB) is not implemented: such objects are streamed instead.
    if (!(source instanceof S3Store) || options.size > 5 * 1024 ** 3) return false;
    const copySource = copySourceOf(source.bucket, source.fullKey(sourceKey));
    try {
      const { client, sdk } = await this.sdk();
      await client.send(
        new sdk.CopyObjectCommand({
          ...this.commonWriteParams(key, options),
          CopySource: copySource,
          MetadataDirective: 'REPLACE',
        }),
        { abortSignal: options.signal },
      );
      return true;
    } catch (error) {
      throw classifyS3Error(error, `COPY ${key}`, { write: true });
    }
  }

  async metadataOf(key: string, withAcl: boolean, signal?: AbortSignal): Promise<StoredMetadata | null> {
    // HEAD and GetObjectAcl side by side: one round trip of latency, not two.
    const askAcl = withAcl && !this.options.provider?.noAcl;
    const [info, access] = await Promise.all([
      this.head(key, signal),
      askAcl ? this.accessOf(key, signal) : undefined,
    ]);
    if (!info || access === null) return null;
    const metadata: StoredMetadata = { size: info.size };
    if (info.contentType !== undefined) metadata.contentType = info.contentType;
    if (info.cacheControl !== undefined) metadata.cacheControl = info.cacheControl;
    if (access !== undefined) metadata.access = access;
    return metadata;
  }

  /** Who may read an object (GetObjectAcl), or null when it is absent. */
  private async accessOf(key: string, signal?: AbortSignal): Promise<AccessClass | null> {
    try {
      const { client, sdk } = await this.sdk();
      const out = await client.send(
        new sdk.GetObjectAclCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }),
        { abortSignal: signal },
      );
      return accessOfGrants(
        (out.Grants ?? []).map((g) => ({
          ...(g.Grantee?.URI ? { granteeUri: g.Grantee.URI } : {}),
          ...(g.Permission ? { permission: g.Permission } : {}),
        })),
      );
    } catch (error) {
      const classified = classifyS3Error(error, `GET ACL ${key}`);
      if (classified.kind === 'gone') return null;
      throw classified;
    }
  }

  async setAcl(key: string, acl: string, signal?: AbortSignal): Promise<void> {
    if (this.options.provider?.noAcl) return; // the provider has no ACLs to set
    try {
      const { client, sdk } = await this.sdk();
      await client.send(
        new sdk.PutObjectAclCommand({
          Bucket: this.options.bucket,
          Key: this.fullKey(key),
          ACL: acl as ObjectCannedACL,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw classifyS3Error(error, `PUT ACL ${key}`, { write: true });
    }
  }

  async replaceMetadata(key: string, metadata: ReplacedMetadata, signal?: AbortSignal): Promise<void> {
    const fullKey = this.fullKey(key);
    try {
      const { client, sdk } = await this.sdk();
      await client.send(
        new sdk.CopyObjectCommand({
          ...this.commonWriteParams(key, metadata),
          CopySource: copySourceOf(this.options.bucket, fullKey),
          MetadataDirective: 'REPLACE',
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw classifyS3Error(error, `COPY ${key} onto itself`, { write: true });
    }
  }

  async abortUpload(fullKey: string, uploadId: string): Promise<void> {
    try {
      const { client, sdk } = await this.sdk();
      await client.send(
        new sdk.AbortMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: fullKey,
          UploadId: uploadId,
        }),
      );
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return; // already gone
      throw classifyS3Error(error, `abort upload ${uploadId} of ${fullKey}`);
    }
  }

  async list(
    prefix: string,
    startAfter: string | undefined,
    signal?: AbortSignal,
    maxKeys = LIST_MAX_KEYS,
  ): Promise<ListPage> {
    const pageSize = clampPageSize(maxKeys);
    try {
      if (this.options.objectRequests) {
        const page = await this.options.objectRequests.list(
          this.fullKey(prefix),
          startAfter === undefined ? undefined : this.fullKey(startAfter),
          signal,
          pageSize,
        );
        for (const item of page.items) item.key = this.logicalKey(item.key);
        return page;
      }
      const { client, sdk } = await this.sdk();
      const out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: this.fullKey(prefix),
          ...(startAfter !== undefined ? { StartAfter: this.fullKey(startAfter) } : {}),
          MaxKeys: pageSize,
        }),
        { abortSignal: signal },
      );
      const items: ObjectInfo[] = (out.Contents ?? []).map((o) => ({
        key: this.logicalKey(o.Key ?? ''),
        size: o.Size ?? 0,
        ...(o.ETag ? { etag: stripQuotes(o.ETag)! } : {}),
      }));
      return { items, truncated: out.IsTruncated === true };
    } catch (error) {
      throw classifyS3Error(error, `LIST ${prefix}`);
    }
  }

  async close(): Promise<void> {
    this.options.client.destroy();
    this.options.objectRequests?.close();
  }
}

/**
 * `x-amz-copy-source`: bucket/key, each segment URL-encoded, but `@` and `:` kept as they are
 * (S3 takes both; s3rver decodes the header with decodeURI, which leaves %40 encoded, so a
 * site upload's `@1x` style would not be found).
 */
export function copySourceOf(bucket: string, fullKey: string): string {
  const encoded = fullKey
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%40/g, '@').replace(/%3A/gi, ':'))
    .join('/');
  return `${bucket}/${encoded}`;
}

/** MD5 hex of a buffer (tests and tools). */
export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}
