/**
 * `plan [TYPE...]`: every key the database references, on stdout — one per line, NDJSON, or a
 * per-table summary. Logs and progress go to stderr so stdout pipes into other tools
 * (`rclone copy --files-from`).
 */
import type { Writable } from 'node:stream';
import { databaseConfig } from '../config/database.ts';
import { getField } from '../config/load.ts';
import { DESTINATION, SOURCE } from '../config/schema.ts';
import type { CatalogKey, CatalogOptions, TableName } from '../mastodon/types.ts';
import { enumerateKeys } from '../run/enumerate.ts';
import { parseTypes } from '../run/tables.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openDatabase } from './open-database.ts';
import { bytes, count, textTable, writeChunk } from './output.ts';

export type PlanFormat = 'keys' | 'ndjson' | 'summary';

export interface PlanOptions {
  format: PlanFormat;
  limit?: number;
  offset?: number;
  sinceId?: string;
  keyPrefix?: string;
  batchSize?: number;
}

interface TableSummary {
  rows: number;
  keys: number;
  knownBytes: number;
  localKeys: number;
  remoteKeys: number;
}

/** The key prefix and ACL Mastodon uses: [s3.source] key_prefix (S3 only), [s3.destination] acl. */
export function catalogOptionsFrom(ctx: CommandContext, keyPrefixFlag: string | undefined): CatalogOptions {
  const { file } = ctx;
  const sourceIsS3 = !file.sections.has(SOURCE.name) || getField(file, SOURCE, 'type') === 's3';
  const keyPrefix = keyPrefixFlag ?? (sourceIsS3 ? getField(file, SOURCE, 'key_prefix') : '');
  const acl = file.sections.has(DESTINATION.name) ? getField(file, DESTINATION, 'acl') : 'public-read';
  return { keyPrefix, acl: acl === '' ? null : acl };
}

function formatKeys(keys: readonly CatalogKey[], format: PlanFormat): string {
  let chunk = '';
  if (format === 'ndjson') for (const key of keys) chunk += `${JSON.stringify(key)}\n`;
  else for (const key of keys) chunk += `${key.key}\n`;
  return chunk;
}

function addToSummary(summary: TableSummary, keys: readonly CatalogKey[], rows: number): void {
  summary.rows += rows;
  summary.keys += keys.length;
  for (const key of keys) {
    summary.knownBytes += key.size ?? 0;
    if (key.remote) summary.remoteKeys++;
    else summary.localKeys++;
  }
}

function renderSummary(summaries: ReadonlyMap<TableName, TableSummary>): string {
  const total: TableSummary = { rows: 0, keys: 0, knownBytes: 0, localKeys: 0, remoteKeys: 0 };
  const rows = [...summaries].map(([table, s]) => {
    for (const field of Object.keys(total) as Array<keyof TableSummary>) total[field] += s[field];
    return [
      table,
      count(s.rows),
      count(s.keys),
      count(s.localKeys),
      count(s.remoteKeys),
      bytes(s.knownBytes),
    ];
  });
  rows.push([
    'total',
    count(total.rows),
    count(total.keys),
    count(total.localKeys),
    count(total.remoteKeys),
    bytes(total.knownBytes),
  ]);
  return textTable(['table', 'rows', 'keys', 'local keys', 'remote keys', 'known bytes'], rows);
}

export async function runPlan(
  ctx: CommandContext,
  types: readonly string[],
  options: PlanOptions,
  out: Writable,
  cleanup: Cleanup,
): Promise<number> {
  const catalog = catalogOptionsFrom(ctx, options.keyPrefix);
  parseTypes(types); // usage errors before connecting
  const { db, columns, tables, read } = await openDatabase(
    ctx,
    databaseConfig(ctx.file),
    types,
    options,
    cleanup,
  );

  const summaries = new Map<TableName, TableSummary>();
  for (const table of tables) {
    const summary: TableSummary = { rows: 0, keys: 0, knownBytes: 0, localKeys: 0, remoteKeys: 0 };
    summaries.set(table, summary);
    for await (const batch of enumerateKeys(db, table, columns.get(table)!, read, catalog)) {
      addToSummary(summary, batch.keys, batch.rows);
      if (options.format !== 'summary') await writeChunk(out, formatKeys(batch.keys, options.format));
    }
    ctx.log.debug({ table, rows: summary.rows, keys: summary.keys }, 'listed');
  }
  if (options.format === 'summary') await writeChunk(out, renderSummary(summaries));
  return 0;
}
