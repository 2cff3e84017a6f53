/**
 * The in-process scheduler (`sync`, `jobs --dev`): DB rows → catalog keys → the shared batch
 * copier. Batches flow into one bounded pool, so a batch's lookups overlap the previous
 * batch's copies. Memory is one database batch plus the pool's backlog, however many rows.
 *
 * By default the tables are read twice: every local key first, then the remote ones (see
 * scope.ts); a scope flag makes it one pass.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { estimateRows, type ReadOptions } from '../db/reader.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogOptions, TableName } from '../mastodon/types.ts';
import { BatchCopier, type CopierDeps, type CopierSettings } from './copier.ts';
import { enumerateKeys } from './enumerate.ts';
import type { Pass } from './scope.ts';

export interface SyncSettings extends CopierSettings {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  passes: readonly Pass[];
  /** Delta sync: only rows changed since this time, per table. */
  changedSince?: ReadonlyMap<TableName, Date>;
}

export interface SyncDeps extends CopierDeps {
  db: MastodonDatabase;
}

export async function runSync(deps: SyncDeps, settings: SyncSettings): Promise<void> {
  const { db, stats, stop } = deps;
  const copier = new BatchCopier(deps, settings);
  const readOf = (table: TableName): ReadOptions => {
    const since = settings.changedSince?.get(table);
    return since ? { ...settings.read, changedSince: since } : settings.read;
  };
  for (const table of settings.tables) {
    const rows = await estimateRows(db, table, readOf(table), settings.columns.get(table));
    stats.table(table).rowsTotal = rows * settings.passes.length;
  }
  for (const pass of settings.passes) {
    for (const table of settings.tables) {
      if (stop.aborted) break;
      const columns = settings.columns.get(table)!;
      for await (const batch of enumerateKeys(db, table, columns, readOf(table), settings.catalog)) {
        const keys = batch.keys.filter(pass.keep);
        const counters = stats.table(table);
        counters.rows += batch.rows;
        counters.keys += keys.length;
        await copier.submitBatch(keys, (item) => alternateKey(item, columns));
        if (stop.aborted) break;
      }
    }
  }
  await copier.drain();
}
