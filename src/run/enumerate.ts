/**
 * DB rows → catalog keys, one batch at a time: the first stage of every command. Memory is
 * one batch of rows and their keys, however large the table.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { type ReadOptions, readTable } from '../db/reader.ts';
import { keysForRow } from '../mastodon/catalog.ts';
import type { CatalogKey, CatalogOptions, TableName } from '../mastodon/types.ts';
import type { Pass } from './scope.ts';

export interface KeyBatch {
  table: TableName;
  rows: number;
  /** The first row id of the batch. */
  firstId: string;
  /** The last row id of the batch: a run can resume after it (--since-id). */
  lastId: string;
  keys: CatalogKey[];
}

export async function* enumerateKeys(
  db: MastodonDatabase,
  table: TableName,
  columns: ReadonlySet<string>,
  read: ReadOptions,
  catalog: CatalogOptions,
): AsyncGenerator<KeyBatch> {
  for await (const rows of readTable(db, table, columns, read)) {
    const keys: CatalogKey[] = [];
    for (const row of rows) {
      for (const key of keysForRow(table, row, catalog)) keys.push(key);
    }
    yield {
      table,
      rows: rows.length,
      firstId: String(rows[0]!['id']),
      lastId: String(rows[rows.length - 1]!['id']),
      keys,
    };
  }
}

/** What a run reads: tables × passes, each table's read (delta, resume) and the catalog. */
export interface RunPlan {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  /** The passes over the tables, in order (scope.ts); absent: one pass keeping every key. */
  passes?: readonly Pass[];
  /** A table's own read (delta sync's `changedSince`, a resumed run's `sinceId`). */
  readFor?: (table: TableName) => ReadOptions;
}

export interface RunBatch extends KeyBatch {
  pass: Pass;
  /** The table's columns in this database (for alternate keys). */
  columns: ReadonlySet<string>;
  /** The batch's keys before the pass' filter (a table's row counters count them all). */
  allKeys: number;
}

const EVERY_KEY: Pass = { name: 'local', keep: () => true };

/**
 * The one enumeration every command runs on: for each pass, each table, batches of the keys
 * the pass keeps. Stop early by leaving the `for await` (the reader is closed with it).
 */
export async function* enumerateRun(db: MastodonDatabase, plan: RunPlan): AsyncGenerator<RunBatch> {
  for (const pass of plan.passes ?? [EVERY_KEY]) {
    for (const table of plan.tables) {
      const columns = plan.columns.get(table)!;
      const read = plan.readFor?.(table) ?? plan.read;
      for await (const batch of enumerateKeys(db, table, columns, read, plan.catalog)) {
        const keys = plan.passes ? batch.keys.filter(pass.keep) : batch.keys;
        yield { ...batch, keys, pass, columns, allKeys: batch.keys.length };
      }
    }
  }
}
