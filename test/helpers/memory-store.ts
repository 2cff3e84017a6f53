/**
 * An in-memory ObjectStore that keeps the whole contract (test/storage/conformance.ts runs the
 * same suite on it as on the filesystem and S3 stores), for tests that need a store they can
 * script: every call is recorded, and faults can be injected per operation and key.
 *
 * It behaves as S3 does where the contract leaves room: keys list in UTF-8 byte order, a
 * listing page holds at most `pageSize` keys (`truncated` when more follow), `startAfter` is
 * exclusive, a key prefix (Mastodon's S3_KEY_PREFIX) is applied and hidden, Content-MD5 is
 * verified, objects above the multipart threshold get S3's `md5-of-md5s-N` ETags, CopyObject
 * without an ACL resets it to private, and a server-side copy works between stores of one
 * `MemoryAccount` only. Writes read the whole body first and commit only a body of exactly
 * `size` bytes, so nothing partial is ever visible.
 *
 *   const store = new MemoryStore({ keyPrefix: 'site', pageSize: 2 });
 *   store.put('media_attachments/files/1.png', Buffer.from('…'), { contentType: 'image/png' });
 *   store.inject({ op: 'write', key: /\.mp4$/, fault: new StoreError('throttled', 'SlowDown') });
 *   store.inject({ op: 'list', times: 2, fault: new Error('socket hang up') });
 *   store.script('read', [new StoreError('retryable', '503'), { short: 10 }, 'ok']); // call by call
 *   … store.calls, store.callsOf('head'), store.writes, store.get(key), store.rawKeys()
 *
 * Each call takes the first rule (in the order added) that matches its operation and key and
 * has hits left; `times: 1` rules thus form a script, consumed call by call.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { accessOfCannedAcl } from '../../src/storage/acl.ts';
import { ShortBodyError, StoreError } from '../../src/storage/errors.ts';
import type {
  ListPage,
  ObjectInfo,
  ObjectStore,
  ReplacedMetadata,
  StoredMetadata,
  StoreFeatures,
  WriteOptions,
} from '../../src/storage/types.ts';

export interface MemoryObject {
  data: Buffer;
  etag: string;
  contentType?: string;
  cacheControl?: string;
  /** The canned ACL it was written with ('private' when none was given). */
  acl: string;
}

/** Buckets by name; stores opened on one account can copy between each other. */
export class MemoryAccount {
  readonly buckets = new Map<string, Map<string, MemoryObject>>();

  createBucket(name: string): Map<string, MemoryObject> {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  deleteBucket(name: string): void {
    this.buckets.delete(name);
  }
}

export type MemoryOp =
  | 'check'
  | 'head'
  | 'read'
  | 'write'
  | 'list'
  | 'copy'
  | 'metadata'
  | 'setAcl'
  | 'replaceMetadata'
  | 'abortUpload';

export interface MemoryCall {
  op: MemoryOp;
  /** Logical key (list: the prefix; abortUpload: the full key; check: ''). */
  key: string;
  startAfter?: string;
  /** list: the page size asked for. */
  maxKeys?: number;
  /** list: how many items the page held. */
  returned?: number;
  /** copy: the key in the source store. */
  sourceKey?: string;
}

export interface MemoryWrite {
  key: string;
  options: WriteOptions;
  /** What the write read of the body before it ended or failed. */
  received: Buffer;
  error?: unknown;
}

/**
 * What an injected fault does:
 * - an Error (StoreError or any other): thrown before the operation does anything (a write
 *   then does not read its body);
 * - `{ delayMs }`: waits first (the operation's signal cuts the wait short);
 * - `{ error, after: 'body' }`: a write reads the whole body, then fails, storing nothing;
 * - `{ error, after: 'commit' }`: the change is made, then the call fails (a lost response);
 * - `{ short: n }`, `{ long: n }`, `{ failAfter: n, error }`: a read's body ends after n bytes,
 *   carries n extra bytes, or errors after n bytes (the info still tells the stored size);
 * - `{ etag }`: a write succeeds but answers this ETag (a corrupted upload, seen by its MD5);
 * - `'decline'`: copyFrom resolves false (the provider cannot copy these two);
 * - `'ok'`: nothing (a step of a script that succeeds);
 * - a function: called with the call (before the operation); it may wait or throw.
 */
export type MemoryFault =
  | Error
  | { delayMs: number }
  | { error: Error; after: 'body' | 'commit' }
  | { short: number }
  | { long: number }
  | { failAfter: number; error: Error }
  | { etag: string }
  | 'decline'
  | 'ok'
  | ((call: MemoryCall) => void | Promise<void>);

export interface FaultRule {
  /** Operations it applies to (all when absent). */
  op?: MemoryOp | readonly MemoryOp[];
  /** Logical keys it applies to (all when absent). */
  key?: string | RegExp | ((key: string) => boolean);
  /** How many matching calls it takes (every one when absent). */
  times?: number;
  fault: MemoryFault;
}

export interface InjectedFault {
  /** Matching calls it has hit so far. */
  readonly hits: number;
  remove(): void;
}

/** What put()/putRaw() store beside the bytes (ETag: as S3 computes it, unless given). */
export interface MemoryPut {
  contentType?: string;
  cacheControl?: string;
  acl?: string;
  etag?: string;
}

export interface MemoryStoreOptions {
  description?: string;
  /** Defaults: listing and md5Etags true. */
  features?: Partial<StoreFeatures>;
  /** Shared with other stores for server-side copies (a fresh one by default). */
  account?: MemoryAccount;
  /** Bucket name in the account ('memory' by default). */
  bucket?: string;
  /** Create the bucket when the account lacks it (default true; false models a missing bucket). */
  createBucket?: boolean;
  /** Writes refused (StoreError fatal, as a 403 on PUT): check({ write: true }) fails too. */
  readOnly?: boolean;
  /** Mastodon's S3_KEY_PREFIX: applied to every key, hidden from listed keys. */
  keyPrefix?: string;
  /** Keys per listing page (default 1000, as S3). */
  pageSize?: number;
  /** Objects above `threshold` bytes get multipart ETags; abortUpload is implemented. */
  multipart?: { threshold: number; partSize: number };
  /** Content-Type, Cache-Control and ACLs kept, with metadataOf/setAcl/replaceMetadata (default true; false is like the filesystem). */
  metadata?: boolean;
  /** copyFrom between stores of the same account (default true). */
  copy?: boolean;
  /** ETags reported by head/read/list/write (default true). */
  etags?: boolean;
  /** Refuse a write whose body does not match WriteOptions.md5 (default true). */
  verifyMd5?: boolean;
  /** Bytes per chunk of read bodies (default 64 KiB). */
  chunkSize?: number;
}

/** S3 keeps the largest object a single CopyObject can copy at 5 GB. */
const COPY_LIMIT = 5 * 1024 ** 3;

const md5 = (data: Buffer | Uint8Array) => createHash('md5').update(data).digest('hex');

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function abortedError(what: string): StoreError {
  return new StoreError('failed', `${what}: aborted`);
}

/** Waits ms, or rejects when the signal aborts. */
function delay(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(what));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type PostFault = { error: Error; after: 'body' | 'commit' };
type BodyFault = { short: number } | { long: number } | { failAfter: number; error: Error };
interface Pending {
  postFault?: PostFault;
  bodyFault?: BodyFault;
  etag?: string;
  decline?: boolean;
}

interface Rule extends FaultRule {
  hits: number;
}

export class MemoryStore implements ObjectStore {
  readonly description: string;
  readonly features: StoreFeatures;
  readonly account: MemoryAccount;
  readonly bucketName: string;
  readonly keyPrefix: string;
  /** Every call, in order. */
  readonly calls: MemoryCall[] = [];
  /** Every write, with what it read of its body. */
  readonly writes: MemoryWrite[] = [];
  /** Multipart uploads left open (uploadId → full key): see openUpload. */
  readonly uploads = new Map<string, string>();
  closed = false;

  copyFrom?: ObjectStore['copyFrom'];
  abortUpload?: ObjectStore['abortUpload'];
  metadataOf?: ObjectStore['metadataOf'];
  setAcl?: ObjectStore['setAcl'];
  replaceMetadata?: ObjectStore['replaceMetadata'];

  private readonly rules: Rule[] = [];
  private readonly pageSize: number;
  private readonly keepsMetadata: boolean;
  private readonly etags: boolean;
  private readonly verifyMd5: boolean;
  private readonly chunkSize: number;
  private readonly multipart: { threshold: number; partSize: number } | undefined;
  private readonly readOnly: boolean;

  constructor(options: MemoryStoreOptions = {}) {
    this.account = options.account ?? new MemoryAccount();
    this.bucketName = options.bucket ?? 'memory';
    if (options.createBucket !== false) this.account.createBucket(this.bucketName);
    this.keyPrefix = options.keyPrefix ?? '';
    this.description =
      options.description ??
      `memory ${this.bucketName}${this.keyPrefix ? ` (prefix ${this.keyPrefix})` : ''}`;
    this.features = { listing: true, md5Etags: true, ...options.features };
    this.pageSize = options.pageSize ?? 1000;
    if (!(this.pageSize >= 1)) throw new Error('pageSize must be at least 1');
    this.keepsMetadata = options.metadata ?? true;
    this.etags = options.etags ?? true;
    this.verifyMd5 = options.verifyMd5 ?? true;
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    this.multipart = options.multipart;
    this.readOnly = options.readOnly ?? false;
    if (options.copy ?? true) {
      this.copyFrom = (source, sourceKey, key, writeOptions) =>
        this.copyImpl(source, sourceKey, key, writeOptions);
    }
    if (this.multipart) this.abortUpload = (fullKey, uploadId) => this.abortImpl(fullKey, uploadId);
    if (this.keepsMetadata) {
      this.metadataOf = (key, withAcl, signal) => this.metadataImpl(key, withAcl, signal);
      this.setAcl = (key, acl, signal) => this.setAclImpl(key, acl, signal);
      this.replaceMetadata = (key, metadata, signal) => this.replaceImpl(key, metadata, signal);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // for tests: faults, seeding, inspection

  /** Injects a fault; rules apply in the order they were added. */
  inject(rule: FaultRule): InjectedFault {
    const entry: Rule = { ...rule, hits: 0 };
    this.rules.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      remove: () => {
        const at = this.rules.indexOf(entry);
        if (at !== -1) this.rules.splice(at, 1);
      },
    };
  }

  /** One rule per step, for consecutive calls of `op` (on `key`, when given). */
  script(op: MemoryOp, steps: readonly MemoryFault[], key?: FaultRule['key']): void {
    for (const fault of steps) this.inject({ op, times: 1, fault, ...(key !== undefined ? { key } : {}) });
  }

  clearFaults(): void {
    this.rules.length = 0;
  }

  callsOf(op: MemoryOp): MemoryCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** The bucket's key for a logical key (as S3Store.fullKey). */
  fullKey(key: string): string {
    if (this.keyPrefix === '') return key;
    const path = `${this.keyPrefix}/${key}`;
    return path.startsWith('/') ? path.slice(1) : path;
  }

  /** Stores an object directly (no call recorded, no fault). */
  put(key: string, data: Buffer, metadata: MemoryPut = {}): MemoryObject {
    return this.putRaw(this.fullKey(key), data, metadata);
  }

  /** Stores an object under a full bucket key, prefix or not (objects the store must not see). */
  putRaw(fullKey: string, data: Buffer, metadata: MemoryPut = {}): MemoryObject {
    const object: MemoryObject = {
      data: Buffer.from(data),
      etag: metadata.etag ?? this.etagOf(data),
      acl: metadata.acl ?? 'private',
      ...(metadata.contentType !== undefined ? { contentType: metadata.contentType } : {}),
      ...(metadata.cacheControl !== undefined ? { cacheControl: metadata.cacheControl } : {}),
    };
    this.account.createBucket(this.bucketName).set(fullKey, object);
    return object;
  }

  /** The stored object of a logical key. */
  get(key: string): MemoryObject | undefined {
    return this.account.buckets.get(this.bucketName)?.get(this.fullKey(key));
  }

  delete(key: string): boolean {
    return this.account.buckets.get(this.bucketName)?.delete(this.fullKey(key)) ?? false;
  }

  /** Logical keys of the objects under the key prefix, in UTF-8 byte order. */
  keys(): string[] {
    const prefix = this.fullKey('');
    return this.rawKeys()
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length));
  }

  /** Every key of the bucket as stored (prefix included), in UTF-8 byte order. */
  rawKeys(): string[] {
    return [...(this.account.buckets.get(this.bucketName)?.keys() ?? [])].sort(byUtf8);
  }

  /** Opens a multipart upload that nothing completes (a killed run's leftover); returns its id. */
  openUpload(key: string): string {
    const uploadId = randomUUID();
    this.uploads.set(uploadId, this.fullKey(key));
    return uploadId;
  }

  // ---------------------------------------------------------------------------------------------
  // ObjectStore

  async check(options: { write: boolean; signal?: AbortSignal }): Promise<void> {
    await this.begin({ op: 'check', key: '' }, options.signal);
    this.bucket();
    if (options.write && this.readOnly) throw this.refusedWrite('check');
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    await this.begin({ op: 'head', key }, signal);
    const object = this.bucket().get(this.fullKey(key));
    return object ? this.infoOf(key, object) : null;
  }

  async read(key: string, signal?: AbortSignal): Promise<{ info: ObjectInfo; body: Readable }> {
    const { bodyFault } = await this.begin({ op: 'read', key }, signal);
    const object = this.bucket().get(this.fullKey(key));
    if (!object) throw new StoreError('gone', `GET ${key}: no such key`);
    const info = this.infoOf(key, object);
    const body = Readable.from(this.chunksOf(object.data, bodyFault), { objectMode: false });
    if (signal) {
      const onAbort = () => body.destroy(abortedError(`GET ${key}`));
      signal.addEventListener('abort', onAbort, { once: true });
      body.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return { info, body };
  }

  async write(key: string, source: Readable | Buffer, options: WriteOptions): Promise<{ etag?: string }> {
    const body = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    const record: MemoryWrite = { key, options, received: Buffer.alloc(0) };
    this.writes.push(record);
    // Whatever happens, the body is not left with an 'error' event nobody listens to.
    body.on('error', () => {});
    try {
      const { postFault, etag } = await this.begin({ op: 'write', key }, options.signal);
      this.bucket();
      if (this.readOnly) throw this.refusedWrite(`PUT ${key}`);
      const data = await this.consume(key, body, options, record);
      if (this.verifyMd5 && options.md5 !== undefined && options.md5.toLowerCase() !== md5(data)) {
        throw new StoreError('retryable', `PUT ${key}: BadDigest (the body's MD5 is not ${options.md5})`);
      }
      if (postFault?.after === 'body') throw postFault.error;
      const object = this.commit(key, data, options);
      if (postFault?.after === 'commit') throw postFault.error;
      if (etag !== undefined) return { etag };
      return this.etags ? { etag: object.etag } : {};
    } catch (error) {
      record.error = error;
      body.destroy();
      throw error;
    }
  }

  async list(
    prefix: string,
    startAfter: string | undefined,
    signal?: AbortSignal,
    maxKeys = 1000,
  ): Promise<ListPage> {
    const call: MemoryCall = {
      op: 'list',
      key: prefix,
      ...(startAfter !== undefined ? { startAfter } : {}),
      maxKeys,
    };
    await this.begin(call, signal);
    const full = this.fullKey(prefix);
    const after = startAfter === undefined ? undefined : this.fullKey(startAfter);
    const strip = this.fullKey('');
    const bucket = this.bucket();
    const matching = [...bucket.keys()]
      .filter((k) => k.startsWith(full) && (after === undefined || byUtf8(k, after) > 0))
      .sort(byUtf8);
    const items = matching.slice(0, Math.min(this.pageSize, maxKeys)).map((fullKey) => {
      const object = bucket.get(fullKey)!;
      const info: ObjectInfo = { key: fullKey.slice(strip.length), size: object.data.length };
      if (this.etags) info.etag = object.etag;
      return info;
    });
    call.returned = items.length;
    return { items, truncated: matching.length > items.length };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---------------------------------------------------------------------------------------------
  // optional methods (assigned in the constructor when enabled)

  private async copyImpl(
    source: ObjectStore,
    sourceKey: string,
    key: string,
    options: Omit<WriteOptions, 'md5'>,
  ): Promise<boolean> {
    const { postFault, decline } = await this.begin({ op: 'copy', key, sourceKey }, options.signal);
    if (
      decline ||
      !(source instanceof MemoryStore) ||
      source.account !== this.account ||
      options.size > COPY_LIMIT
    ) {
      return false;
    }
    this.bucket();
    if (this.readOnly) throw this.refusedWrite(`COPY ${key}`);
    const object = source.bucket().get(source.fullKey(sourceKey));
    if (!object) throw new StoreError('gone', `COPY ${key}: no such key ${sourceKey}`);
    this.commit(key, object.data, options);
    if (postFault) throw postFault.error;
    return true;
  }

  private async abortImpl(fullKey: string, uploadId: string): Promise<void> {
    await this.begin({ op: 'abortUpload', key: fullKey });
    if (this.uploads.get(uploadId) === fullKey) this.uploads.delete(uploadId);
  }

  private async metadataImpl(
    key: string,
    withAcl: boolean,
    signal?: AbortSignal,
  ): Promise<StoredMetadata | null> {
    await this.begin({ op: 'metadata', key }, signal);
    const object = this.bucket().get(this.fullKey(key));
    if (!object) return null;
    const metadata: StoredMetadata = { size: object.data.length };
    if (object.contentType !== undefined) metadata.contentType = object.contentType;
    if (object.cacheControl !== undefined) metadata.cacheControl = object.cacheControl;
    if (withAcl) metadata.access = accessOfCannedAcl(object.acl);
    return metadata;
  }

  private async setAclImpl(key: string, acl: string, signal?: AbortSignal): Promise<void> {
    const { postFault } = await this.begin({ op: 'setAcl', key }, signal);
    const object = this.bucket().get(this.fullKey(key));
    if (!object) throw new StoreError('gone', `PUT ACL ${key}: no such key`);
    if (this.readOnly) throw this.refusedWrite(`PUT ACL ${key}`);
    object.acl = acl;
    if (postFault) throw postFault.error;
  }

  private async replaceImpl(key: string, metadata: ReplacedMetadata, signal?: AbortSignal): Promise<void> {
    const { postFault } = await this.begin({ op: 'replaceMetadata', key }, signal);
    const object = this.bucket().get(this.fullKey(key));
    if (!object) throw new StoreError('gone', `COPY ${key} onto itself: no such key`);
    if (this.readOnly) throw this.refusedWrite(`COPY ${key} onto itself`);
    object.contentType = metadata.contentType;
    object.cacheControl = metadata.cacheControl;
    object.acl = metadata.acl ?? 'private'; // as CopyObject without x-amz-acl
    if (postFault) throw postFault.error;
  }

  // ---------------------------------------------------------------------------------------------
  // internals

  /** Records the call and runs the first fault rule that matches it; returns what acts later. */
  private async begin(call: MemoryCall, signal?: AbortSignal): Promise<Pending> {
    if (this.closed) throw new Error(`${this.description}: ${call.op} after close()`);
    this.calls.push(call);
    const what = `${call.op} ${call.key}`;
    if (signal?.aborted) throw abortedError(what);
    const rule = this.rules.find((r) => this.matches(r, call));
    if (!rule) return {};
    rule.hits++;
    const { fault } = rule;
    if (fault === 'ok') return {};
    if (fault === 'decline') return { decline: true };
    if (typeof fault === 'function') {
      await fault(call);
      return {};
    }
    if (fault instanceof Error) throw fault;
    if ('delayMs' in fault) {
      await delay(fault.delayMs, signal, what);
      return {};
    }
    if ('after' in fault) return { postFault: fault };
    if ('etag' in fault) return { etag: fault.etag };
    return { bodyFault: fault };
  }

  private refusedWrite(what: string): StoreError {
    return new StoreError('fatal', `${what}: AccessDenied (${this.description} is read-only)`);
  }

  private matches(rule: Rule, call: MemoryCall): boolean {
    if (rule.times !== undefined && rule.hits >= rule.times) return false;
    if (rule.op !== undefined) {
      const ops: readonly MemoryOp[] = typeof rule.op === 'string' ? [rule.op] : rule.op;
      if (!ops.includes(call.op)) return false;
    }
    const { key } = rule;
    if (key === undefined) return true;
    if (typeof key === 'string') return key === call.key;
    if (key instanceof RegExp) return key.test(call.key);
    return key(call.key);
  }

  private bucket(): Map<string, MemoryObject> {
    const bucket = this.account.buckets.get(this.bucketName);
    if (!bucket) throw new StoreError('fatal', `bucket "${this.bucketName}" does not exist`);
    return bucket;
  }

  private etagOf(data: Buffer): string {
    const multipart = this.multipart;
    if (!multipart || data.length <= multipart.threshold) return md5(data);
    const digests: Buffer[] = [];
    for (let at = 0; at < data.length; at += multipart.partSize) {
      digests.push(
        createHash('md5')
          .update(data.subarray(at, at + multipart.partSize))
          .digest(),
      );
    }
    return `${md5(Buffer.concat(digests))}-${digests.length}`;
  }

  private infoOf(key: string, object: MemoryObject): ObjectInfo {
    const info: ObjectInfo = { key, size: object.data.length };
    if (this.etags) info.etag = object.etag;
    if (this.keepsMetadata && object.contentType !== undefined) info.contentType = object.contentType;
    if (this.keepsMetadata && object.cacheControl !== undefined) info.cacheControl = object.cacheControl;
    return info;
  }

  private commit(key: string, data: Buffer, options: Omit<WriteOptions, 'md5'>): MemoryObject {
    const object: MemoryObject = { data, etag: this.etagOf(data), acl: options.acl ?? 'private' };
    if (this.keepsMetadata) {
      object.contentType = options.contentType;
      object.cacheControl = options.cacheControl;
    }
    this.bucket().set(this.fullKey(key), object);
    return object;
  }

  private *chunksOf(data: Buffer, fault: BodyFault | undefined): Generator<Buffer> {
    let bytes = data;
    if (fault && 'short' in fault) bytes = data.subarray(0, fault.short);
    if (fault && 'long' in fault) bytes = Buffer.concat([data, Buffer.alloc(fault.long, 0x2a)]);
    const end = fault && 'failAfter' in fault ? Math.min(fault.failAfter, bytes.length) : bytes.length;
    for (let at = 0; at < end; at += this.chunkSize)
      yield bytes.subarray(at, Math.min(at + this.chunkSize, end));
    if (fault && 'failAfter' in fault) throw fault.error;
  }

  /**
   * Reads the whole body as an upload does: fails on a body error (a StoreError keeps its
   * kind), on abort, as soon as it runs past `size`, and when it ends short.
   */
  private consume(key: string, body: Readable, options: WriteOptions, record: MemoryWrite): Promise<Buffer> {
    const { size, signal } = options;
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        body.off('data', onData);
        record.received = Buffer.concat(chunks);
        if (error === undefined) resolve(record.received);
        else reject(error);
      };
      const onAbort = () => finish(abortedError(`PUT ${key}`));
      const onData = (chunk: Buffer | string) => {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        received += buffer.length;
        chunks.push(buffer);
        if (received > size)
          finish(new StoreError('retryable', `PUT ${key}: body longer than its ${size} bytes`));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      body.on('data', onData);
      body.once('end', () => finish(received === size ? undefined : new ShortBodyError(size, received)));
      body.once('error', (error) =>
        finish(
          error instanceof StoreError
            ? error
            : new StoreError('retryable', `PUT ${key}: body failed (${(error as Error).message})`),
        ),
      );
      body.once('close', () => {
        if (!body.readableEnded) finish(new StoreError('retryable', `PUT ${key}: body closed early`));
      });
    });
  }
}
