/**
 * Orphans (read-only): objects under a table's prefixes (`<table>/`, `cache/<table>/`) that no
 * row references. The referenced keys of one table at a time are kept as 53-bit hashes in a
 * sorted Float64Array (8 bytes a key: 80 MB for ten million), then the store is listed page by
 * page and each key looked up. A hash collision can only hide an orphan, never invent one.
 *
 * Providers such as Cloudflare R2 return "directory" keys ending in `/`: they are counted as
 * directory markers, not orphans, and listing always moves past the last key it saw, so a page
 * that repeats itself cannot loop.
 */
import { createHash } from 'node:crypto';
import type { MastodonDatabase } from '../db/database.ts';
import { compareUtf8 } from '../lib/utf8.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { TableName } from '../mastodon/types.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { type RequestPolicy, storeRequest } from '../transfer/requests.ts';
import { enumerateRun, type RunPlan } from './enumerate.ts';

/** A key's 53-bit hash, as an exactly representable double. */
export function keyHash(key: string): number {
  const digest = createHash('md5').update(key, 'utf8').digest();
  return digest.readUIntBE(0, 6) * 32 + (digest[6]! >> 3);
}

export class KeySet {
  private hashes = new Float64Array(1024);
  private size = 0;
  private sorted = true;

  add(key: string): void {
    if (this.size === this.hashes.length) {
      const grown = new Float64Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.size++] = keyHash(key);
    this.sorted = false;
  }

  get count(): number {
    return this.size;
  }

  has(key: string): boolean {
    if (!this.sorted) {
      this.hashes = this.hashes.slice(0, this.size).sort();
      this.sorted = true;
    }
    const wanted = keyHash(key);
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.hashes[mid]!;
      if (value === wanted) return true;
      if (value < wanted) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

export interface PrefixScan {
  prefix: string;
  listed: number;
  referenced: number;
  orphans: number;
  orphanBytes: number;
  directoryMarkers: number;
}

/** Lists everything under `prefix`, calling `onOrphan` for each object no row references. */
export async function scanPrefix(
  store: ObjectStore,
  prefix: string,
  referenced: KeySet,
  onOrphan: (item: ObjectInfo) => Promise<void>,
  onRequest: () => void,
  signal?: AbortSignal,
  retry: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<PrefixScan> {
  const scan: PrefixScan = {
    prefix,
    listed: 0,
    referenced: 0,
    orphans: 0,
    orphanBytes: 0,
    directoryMarkers: 0,
  };
  let after: string | undefined;
  for (;;) {
    onRequest();
    const page = await retry(() => store.list(prefix, after, signal));
    // In the store's (UTF-8) order: past U+E000, UTF-16 comparison would drop emoji keys.
    const fresh = page.items.filter((item) => after === undefined || compareUtf8(item.key, after) > 0);
    for (const item of fresh) {
      scan.listed++;
      if (item.key.endsWith('/')) scan.directoryMarkers++;
      else if (referenced.has(item.key)) scan.referenced++;
      else {
        scan.orphans++;
        scan.orphanBytes += item.size;
        await onOrphan(item);
      }
    }
    // Stop when the store says so, or when a page brings nothing new (a server that repeats itself).
    if (!page.truncated || fresh.length === 0) return scan;
    after = fresh[fresh.length - 1]!.key;
  }
}

export interface OrphansRun {
  db: MastodonDatabase;
  source: ObjectStore;
  plan: RunPlan;
  /** The run's request policy (retries, rate), for the listings. */
  policy: RequestPolicy;
  onOrphan(item: ObjectInfo, table: TableName): Promise<void>;
}

/**
 * Per table: every key its rows reference (and each key's old place, where sync would take it
 * from) into a hash set, then both of its prefixes (`<table>/`, `cache/<table>/`) listed
 * against it. Memory: one table's referenced keys as 8-byte hashes.
 */
export async function runOrphans(run: OrphansRun): Promise<{ scans: PrefixScan[]; listRequests: number }> {
  const scans: PrefixScan[] = [];
  let listRequests = 0;
  for (const table of run.plan.tables) {
    const referenced = new KeySet();
    for await (const batch of enumerateRun(run.db, { ...run.plan, tables: [table] })) {
      for (const item of batch.keys) {
        referenced.add(item.key);
        const alternate = alternateKey(item, batch.columns);
        if (alternate) referenced.add(alternate);
      }
    }
    for (const prefix of [`${table}/`, `cache/${table}/`]) {
      const scan = await scanPrefix(
        run.source,
        prefix,
        referenced,
        (item) => run.onOrphan(item, table),
        () => {
          listRequests++;
        },
        run.policy.signal,
        (fn) => storeRequest(run.policy, fn),
      );
      scans.push(scan);
    }
  }
  return { scans, listRequests };
}
