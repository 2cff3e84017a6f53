/**
 * The one contract every store implements (S3, filesystem). Keys are logical Mastodon keys
 * (`media_attachments/files/…`); a store applies its own key prefix. A store never counts,
 * retries, prints or decides: it maps its backend's errors to StoreError kinds and returns.
 */
import type { Readable } from 'node:stream';
import type { AccessClass } from './acl.ts';

export interface ObjectInfo {
  key: string;
  size: number;
  /** The ETag without quotes; an MD5 hex digest when the object was not uploaded in parts. */
  etag?: string;
  contentType?: string;
  cacheControl?: string;
}

export interface StoredMetadata {
  size: number;
  contentType?: string;
  cacheControl?: string;
  /** Present when asked for. */
  access?: AccessClass;
}

export interface ReplacedMetadata {
  contentType: string;
  cacheControl: string;
  /** Canned ACL, or null for no ACL header (providers without ACLs). */
  acl: string | null;
}

export interface ListPage {
  items: ObjectInfo[];
  /** More keys follow the last item. */
  truncated: boolean;
}

export interface WriteOptions {
  /** Exact byte length of the body; a body that ends short fails the write. */
  size: number;
  contentType: string;
  cacheControl: string;
  /** Canned ACL, or null for no ACL header. */
  acl: string | null;
  /** MD5 hex of the body when known: the server verifies it (Content-MD5). */
  md5?: string;
  signal?: AbortSignal;
}

export interface StoreFeatures {
  /** Listing a key range costs less than asking per key (S3: yes; filesystem: stat is cheaper). */
  listing: boolean;
  /** ETags of single-part uploads are MD5 digests. */
  md5Etags: boolean;
}

export interface ObjectStore {
  /** For messages and logs; never contains a secret. */
  readonly description: string;
  readonly features: StoreFeatures;
  /** Fails fast (StoreError) if the bucket or directory is missing or credentials are refused. */
  check(options: { write: boolean; signal?: AbortSignal }): Promise<void>;
  /** Metadata of one object, or null when absent. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null>;
  /** The object's body as a stream (StoreError 'gone' when absent). */
  read(key: string, signal?: AbortSignal): Promise<{ info: ObjectInfo; body: Readable }>;
  /**
   * Writes the whole body under key; nothing partial is ever visible. The body is a stream,
   * or (small objects, read whole before the write) a buffer of exactly `options.size` bytes.
   */
  write(key: string, body: Readable | Buffer, options: WriteOptions): Promise<{ etag?: string }>;
  /**
   * Copies inside the provider from `source` (another store on the same account), if this store
   * can; resolves false when it cannot (the caller streams instead). The caller decides
   * whether the two stores share an account; the store only knows whether it is able.
   */
  copyFrom?(
    source: ObjectStore,
    sourceKey: string,
    key: string,
    options: Omit<WriteOptions, 'md5'>,
  ): Promise<boolean>;
  /**
   * Aborts a multipart upload an earlier run left open (`fullKey` as the provider knows it,
   * key prefix included). Stores without multipart uploads do not implement it.
   */
  abortUpload?(fullKey: string, uploadId: string): Promise<void>;
  /**
   * Stores whose objects carry metadata and ACLs that can be changed in place (S3; the
   * filesystem has neither). `metadataOf`: Content-Type and Cache-Control (HEAD) and, when
   * `withAcl`, who may read it (GetObjectAcl); null when absent.
   */
  metadataOf?(key: string, withAcl: boolean, signal?: AbortSignal): Promise<StoredMetadata | null>;
  /** Sets the canned ACL of an existing object (PutObjectAcl); StoreError 'gone' when absent. */
  setAcl?(key: string, acl: string, signal?: AbortSignal): Promise<void>;
  /**
   * Rewrites Content-Type, Cache-Control and the ACL of an existing object without reading
   * its body (CopyObject onto itself, MetadataDirective REPLACE; objects up to 5 GB).
   */
  replaceMetadata?(key: string, metadata: ReplacedMetadata, signal?: AbortSignal): Promise<void>;
  /**
   * One page of keys under `prefix`, in lexicographic order, strictly after `startAfter`: at
   * most `maxKeys` (1–1,000, default 1,000) where the store pages at all. A caller that needs
   * a few keys asks for a few: a page's cost grows with its length (S3's time to first byte,
   * s3rver's CPU: 442 ms for 1,000 keys of a 4,000-object prefix, 36 ms for 100).
   */
  list(
    prefix: string,
    startAfter: string | undefined,
    signal?: AbortSignal,
    maxKeys?: number,
  ): Promise<ListPage>;
  close(): Promise<void>;
}
