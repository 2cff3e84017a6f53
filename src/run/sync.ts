/**
 * The in-process scheduler (`sync`, `jobs --dev`): DB rows → catalog keys → the shared batch
 * copier. Batches flow into one bounded pool, so a batch's lookups overlap the previous
 * batch's copies. Memory is one database batch plus the pool's backlog, however many rows.
 *
 * By default the tables are read twice: every local key first, then the remote ones (see
 * scope.ts); a scope flag makes it one pass.
 */
import { setMaxListeners } from 'node:events';
import type { MastodonDatabase } from '../db/database.ts';
import { estimateRows, type ReadOptions } from '../db/reader.ts';
import { sleep } from '../lib/retry.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogOptions, TableName } from '../mastodon/types.ts';
import { followAclChanges, readPrivateOwners } from './acl-changes.ts';
import { BatchCopier, type CopierDeps, type CopierSettings } from './copier.ts';
import { enumerateRun } from './enumerate.ts';
import type { Pass } from './scope.ts';

/** Keys per lookup batch on a retry pass (the listing answers up to 1,000 at a time). */
const RETRY_BATCH = 1000;

export interface SyncSettings extends CopierSettings {
  /** Further passes over keys that failed with a transient error ([sync] retry_passes). */
  retryPasses: number;
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  passes: readonly Pass[];
  /** Delta sync: only rows changed since this time, per table. */
  changedSince?: ReadonlyMap<TableName, Date>;
  /**
   * The state file: who was private at the last run's start (acl-changes.ts). Given, the run
   * re-applies the ACL of media whose owner's state changed since, and records the new state.
   */
  statePath?: string;
  /**
   * Count the rows to read first, for progress (default true). `--follow` passes skip it: on a
   * delta read the count is one more scan of each table (Mastodon has no index on
   * `*_updated_at`), every pass.
   */
  countRows?: boolean;
}

export interface SyncDeps extends Omit<CopierDeps, 'onFatal'> {
  db: MastodonDatabase;
}

export interface SyncResult {
  /**
   * Why the run stopped early because a store refused it (storage/errors.ts `fatal`: naming the
   * store and what it refused), or null.
   */
  refusal: string | null;
  /** ACLs re-applied after the copy (media of owners whose state changed), or null when not followed. */
  acl: { objects: number; failed: number } | null;
}

/** The wait before retry pass `pass` (1-based): the transient trouble gets time to pass. */
export function retryPassDelayMs(pass: number): number {
  return Math.min(30_000, 2000 * 2 ** (pass - 1));
}

/**
 * Runs the copy. A store that refuses the whole run stops it at once: copies in flight are
 * aborted (nothing partial is left), the reason is logged once and returned.
 */
export async function runSync(outer: SyncDeps, settings: SyncSettings): Promise<SyncResult> {
  const fatal = new AbortController();
  let refusal: string | null = null;
  const abort = AbortSignal.any([outer.abort, fatal.signal]);
  const stop = AbortSignal.any([outer.stop, fatal.signal]);
  setMaxListeners(0, abort, stop); // every request in flight listens to them
  const deps: SyncDeps = { ...outer, abort, stop };
  const onFatal = (side: 'source' | 'destination', message: string) => {
    if (refusal !== null) return;
    const store = side === 'source' ? outer.source.description : outer.dest.description;
    refusal = `the ${side} (${store}) refused the run: ${message}`;
    outer.log.error(`${refusal}; stopping (nothing more will be copied)`);
    fatal.abort();
  };
  const { db, stats } = deps;
  // Who is private now, read before copying: a change during the run is caught by the next.
  const followsAcls =
    settings.statePath !== undefined &&
    settings.catalog.acl !== null &&
    settings.tables.includes('media_attachments') &&
    outer.dest.setAcl !== undefined;
  const ownersNow = followsAcls ? await readPrivateOwners(db, settings.read) : null;
  const copier = new BatchCopier({ ...deps, onFatal }, { ...settings, retryLater: settings.retryPasses > 0 });
  const readOf = (table: TableName): ReadOptions => {
    const since = settings.changedSince?.get(table);
    return since ? { ...settings.read, changedSince: since } : settings.read;
  };
  for (const table of settings.countRows === false ? [] : settings.tables) {
    const rows = await estimateRows(db, table, readOf(table), settings.columns.get(table));
    stats.table(table).rowsTotal = rows * settings.passes.length;
  }
  const plan = { ...settings, readFor: readOf };
  for await (const batch of enumerateRun(db, plan)) {
    const counters = stats.table(batch.table);
    counters.rows += batch.rows;
    counters.keys += batch.keys.length;
    await copier.submitBatch(batch.keys, (item) => alternateKey(item, batch.columns));
    if (stop.aborted) break;
  }
  await copier.drain();
  await retryPasses(deps, settings, copier);
  const acl =
    ownersNow && refusal === null && !stop.aborted
      ? await followAclChanges(settings.statePath!, ownersNow, {
          db,
          dest: deps.dest,
          columns: settings.columns.get('media_attachments')!,
          read: settings.read,
          catalog: settings.catalog,
          lookup: copier.lookupContext('destination'),
          concurrency: deps.stats.concurrency || settings.concurrency, // auto: what the copies found
          dryRun: settings.dryRun,
          log: deps.log,
        })
      : null;
  return { refusal, acl };
}

/**
 * Keys that failed with a transient error after all their retries get up to `retryPasses`
 * more passes, each after a longer wait (as rclone's `--retries` over its low-level
 * retries): a burst of resets or 503s that outlasted one key's backoff rarely outlasts this.
 * What still fails on the last pass is counted failed.
 */
async function retryPasses(deps: SyncDeps, settings: SyncSettings, copier: BatchCopier): Promise<void> {
  const { stats, stop, log } = deps;
  for (let pass = 1; pass <= settings.retryPasses && copier.heldBackCount > 0 && !stop.aborted; pass++) {
    const delayMs = retryPassDelayMs(pass);
    log.info(
      { pass, keys: copier.heldBackCount, delayMs },
      'copying again the keys that failed with a transient error',
    );
    try {
      await sleep(delayMs, stop);
    } catch {
      break; // stopped: what is held back is counted failed below
    }
    const held = copier.takeHeldBack();
    if (pass === settings.retryPasses) copier.stopHoldingBack();
    stats.retryPasses = pass;
    stats.retriedKeys += held.length;
    for (let i = 0; i < held.length; i += RETRY_BATCH) {
      if (stop.aborted) {
        copier.holdBack(held.slice(i));
        break;
      }
      const batch = held.slice(i, i + RETRY_BATCH).map((h) => h.item);
      await copier.submitBatch(batch, (item) => alternateKey(item, settings.columns.get(item.table)!));
    }
    await copier.drain();
  }
  await copier.failHeldBack();
}
