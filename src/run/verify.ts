/**
 * `verify`: does the destination hold every key the database references, as Mastodon needs it?
 *
 * Per batch of keys (same enumeration as sync): one listing of each store per attachment
 * prefix gives presence, size and ETag (cheaper than a HEAD per key); then each destination
 * object, or a random sample of them, is asked for its Content-Type — authenticated, or
 * anonymously through `--public-url` (the new S3_ALIAS_HOST or CDN), which also checks that
 * public objects answer 200 with the right Cache-Control and private ones (backups, media of
 * suspended accounts) are refused.
 */

import { applyKeyPrefix } from '../lib/key-prefix.ts';
import { Semaphore } from '../lib/semaphore.ts';
import type { CatalogKey } from '../mastodon/types.ts';
import { type AccessClass, accessOfCannedAcl } from '../storage/acl.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { md5FromEtag } from '../transfer/decide.ts';
import { type LookupContext, lookupKeys } from '../transfer/lookup.ts';

export type VerifyProblemKind = 'absent' | 'size' | 'md5' | 'content-type' | 'public' | 'acl';

export interface VerifyProblem {
  kind: VerifyProblemKind;
  item: CatalogKey;
  reason: string;
}

export interface VerifyCounters {
  keys: number;
  ok: number;
  absent: number;
  size: number;
  md5: number;
  contentType: number;
  public: number;
  /** The stored ACL gives other access than Mastodon means (GetObjectAcl; `repair` fixes it). */
  acl: number;
  /** Not at the source either (nothing to compare with): reported, not a problem. */
  missingAtSource: number;
  /** Keys whose Content-Type (and public access) was asked per object. */
  inspected: number;
}

/** The counter a kind of problem adds to. */
function counterOf(kind: VerifyProblemKind): keyof VerifyCounters {
  return kind === 'content-type' ? 'contentType' : kind;
}

export function emptyVerifyCounters(): VerifyCounters {
  return {
    keys: 0,
    ok: 0,
    absent: 0,
    size: 0,
    md5: 0,
    contentType: 0,
    public: 0,
    acl: 0,
    missingAtSource: 0,
    inspected: 0,
  };
}

export interface VerifySettings {
  checksum: boolean;
  /** Base URL objects are served from publicly (no trailing slash), or null. */
  publicUrl: string | null;
  /**
   * The destination's key prefix (Mastodon's S3_KEY_PREFIX): Mastodon's URLs keep it
   * (`s3_prefixes_in_alias` is 0), so the public URL of a key is base/prefix/key.
   */
  publicKeyPrefix?: string;
  /** Also read each inspected object's ACL (GetObjectAcl): `verify --acl`. */
  checkAcl?: boolean;
  /** The Cache-Control objects should carry (checked on public responses). */
  cacheControl: string;
  concurrency: number;
}

const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

function isGeneric(contentType: string | undefined | null): boolean {
  return GENERIC_TYPES.has((contentType ?? '').split(';')[0]!.trim().toLowerCase());
}

/**
 * A key as a URL path: each segment percent-encoded, slashes kept. `keyPrefix`: the store's
 * S3_KEY_PREFIX, which Mastodon's public URLs keep.
 */
export function publicUrlOf(base: string, key: string, keyPrefix = ''): string {
  const path = applyKeyPrefix(keyPrefix, key);
  return `${base.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Compares what the listings say; returns the problem, or null when the key is in place. */
export function compareListed(
  item: CatalogKey,
  source: ObjectInfo | null,
  dest: ObjectInfo | null,
  checksum: boolean,
): VerifyProblem | null | 'missing-at-source' {
  if (!dest) return source ? { kind: 'absent', item, reason: 'not at the destination' } : 'missing-at-source';
  if (!source) return null; // copied from its alternate location, or the source lost it since
  if (dest.size !== source.size) {
    return {
      kind: 'size',
      item,
      reason: `${dest.size} bytes at the destination, ${source.size} at the source`,
    };
  }
  if (checksum) {
    const a = md5FromEtag(source.etag);
    const b = md5FromEtag(dest.etag);
    if (a && b && a !== b)
      return { kind: 'md5', item, reason: `MD5 ${b} at the destination, ${a} at the source` };
  }
  return null;
}

export class Verifier {
  private readonly heads: Semaphore;

  constructor(
    private readonly source: ObjectStore,
    private readonly dest: ObjectStore,
    private readonly settings: VerifySettings,
    private readonly lookup: LookupContext,
    private readonly onRequest: (kind: 'head' | 'public' | 'acl') => void,
  ) {
    this.heads = new Semaphore(settings.concurrency);
  }

  /** Presence, size (and MD5) of a batch from listings; returns the keys found in place. */
  async checkListed(keys: readonly CatalogKey[], counters: VerifyCounters, problems: VerifyProblem[]) {
    const names = keys.map((k) => k.key);
    const [atSource, atDest] = await Promise.all([
      lookupKeys(this.source, names, this.lookup),
      lookupKeys(this.dest, names, this.lookup),
    ]);
    const inPlace: CatalogKey[] = [];
    for (const item of keys) {
      counters.keys++;
      const found = compareListed(
        item,
        atSource.get(item.key) ?? null,
        atDest.get(item.key) ?? null,
        this.settings.checksum,
      );
      if (found === 'missing-at-source') counters.missingAtSource++;
      else if (found) {
        counters[counterOf(found.kind)]++;
        problems.push(found);
      } else inPlace.push(item);
    }
    return inPlace;
  }

  /** Per-object checks (Content-Type; public access) of keys already found in place. */
  async inspect(
    keys: readonly CatalogKey[],
    counters: VerifyCounters,
    problems: VerifyProblem[],
  ): Promise<Set<string>> {
    const bad = new Set<string>();
    await Promise.all(
      keys.map((item) =>
        this.heads.run(async () => {
          counters.inspected++;
          const problem = await this.inspectOne(item);
          if (problem) {
            bad.add(item.key);
            counters[counterOf(problem.kind)]++;
            problems.push(problem);
          }
        }),
      ),
    );
    return bad;
  }

  private async inspectOne(item: CatalogKey): Promise<VerifyProblem | null> {
    const isPublic = item.acl !== 'private';
    if (this.settings.publicUrl) {
      const problem = await this.checkPublic(item, isPublic);
      if (problem || isPublic) return problem; // a public 200 already showed the Content-Type
    }
    this.onRequest('head');
    // With --acl, where the store has ACLs and the config sends them, who may read it too.
    if (this.settings.checkAcl && this.dest.metadataOf && item.acl !== null) {
      this.onRequest('acl');
      const stored = await this.lookup.retry(() => this.dest.metadataOf!(item.key, true, this.lookup.signal));
      if (!stored) return { kind: 'absent', item, reason: 'not at the destination (HEAD)' };
      return this.checkType(item, stored.contentType) ?? this.checkAcl(item, stored.access);
    }
    const info = await this.lookup.retry(() => this.dest.head(item.key, this.lookup.signal));
    if (!info) return { kind: 'absent', item, reason: 'not at the destination (HEAD)' };
    return this.checkType(item, info.contentType);
  }

  private checkAcl(item: CatalogKey, access: AccessClass | undefined): VerifyProblem | null {
    if (access === undefined || item.acl === null) return null;
    const expected = accessOfCannedAcl(item.acl);
    if (access === expected) return null;
    return { kind: 'acl', item, reason: `ACL gives ${access}, expected ${expected} (run repair)` };
  }

  private checkType(item: CatalogKey, contentType: string | undefined | null): VerifyProblem | null {
    if (isGeneric(contentType) && !isGeneric(item.contentType)) {
      return {
        kind: 'content-type',
        item,
        reason: `Content-Type ${JSON.stringify(contentType ?? '')}, expected ${item.contentType}`,
      };
    }
    return null;
  }

  private async checkPublic(item: CatalogKey, isPublic: boolean): Promise<VerifyProblem | null> {
    const url = publicUrlOf(this.settings.publicUrl!, item.key, this.settings.publicKeyPrefix);
    this.onRequest('public');
    let response: Response;
    try {
      response = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: this.lookup.signal ?? null });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      return { kind: 'public', item, reason: `HEAD ${url}: ${cause}` };
    }
    if (!isPublic) {
      return response.ok
        ? {
            kind: 'public',
            item,
            reason: `private object answers ${response.status} to an anonymous request at ${url}`,
          }
        : null;
    }
    if (response.status !== 200)
      return { kind: 'public', item, reason: `HEAD ${url}: status ${response.status}` };
    const typeProblem = this.checkType(item, response.headers.get('content-type'));
    if (typeProblem) return typeProblem;
    const cacheControl = response.headers.get('cache-control') ?? '';
    if (this.settings.cacheControl && cacheControl !== this.settings.cacheControl) {
      return {
        kind: 'public',
        item,
        reason: `Cache-Control ${JSON.stringify(cacheControl)} at ${url}, expected ${JSON.stringify(this.settings.cacheControl)}`,
      };
    }
    return null;
  }
}

/** Keeps a uniform random sample of at most `size` items from a stream (reservoir sampling). */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  constructor(
    private readonly size: number,
    private readonly random: () => number = Math.random,
  ) {}
  add(item: T): void {
    this.seen++;
    if (this.items.length < this.size) this.items.push(item);
    else {
      const slot = Math.floor(this.random() * this.seen);
      if (slot < this.size) this.items[slot] = item;
    }
  }
}
