/**
 * DB rows → catalog keys, one batch at a time: the first stage of every command. Memory is
 * one batch of rows and their keys, however large the table.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { type ReadOptions, readTable } from '../db/reader.ts';
import { keysForRow } from '../mastodon/catalog.ts';
import type { CatalogKey, CatalogOptions, TableName } from '../mastodon/types.ts';

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
