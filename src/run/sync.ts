/**
 * The in-process scheduler (`sync`, `jobs --dev`): DB rows → catalog keys → the shared batch
 * copier. Batches flow into one bounded pool, so a batch's lookups overlap the previous
 * batch's copies. Memory is one database batch plus the pool's backlog, however many rows.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { estimateRows, type ReadOptions } from '../db/reader.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogOptions, TableName } from '../mastodon/types.ts';
import { BatchCopier, type CopierDeps, type CopierSettings } from './copier.ts';
import { enumerateKeys } from './enumerate.ts';

export interface SyncSettings extends CopierSettings {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
}

export interface SyncDeps extends CopierDeps {
  db: MastodonDatabase;
}

export async function runSync(deps: SyncDeps, settings: SyncSettings): Promise<void> {
  const { db, stats, stop } = deps;
  const copier = new BatchCopier(deps, settings);
  for (const table of settings.tables) {
    stats.table(table).rowsTotal = await estimateRows(db, table, settings.read);
  }
  for (const table of settings.tables) {
    if (stop.aborted) break;
    const columns = settings.columns.get(table)!;
    for await (const batch of enumerateKeys(db, table, columns, settings.read, settings.catalog)) {
      const counters = stats.table(table);
      counters.rows += batch.rows;
      counters.keys += batch.keys.length;
      await copier.submitBatch(batch.keys, (item) => alternateKey(item, columns));
      if (stop.aborted) break;
    }
  }
  await copier.drain();
}
