/**
 * `plan [TYPE...]`: every key the database references, on stdout — one per line, NDJSON, or a
 * per-table summary. Logs and progress go to stderr so stdout pipes into other tools
 * (`rclone copy --files-from`).
 */
import type { Writable } from 'node:stream';
import { getField, getSection } from '../config/load.ts';
import { DESTINATION, SOURCE, SYNC } from '../config/schema.ts';
import type { CatalogKey, CatalogOptions, TableName } from '../mastodon/types.ts';
import { type Preflight, runPlan, type TableSummary, type UploadShape } from '../run/plan.ts';
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

function renderPreflight(preflight: ReadonlyMap<string, Preflight>): string {
  const total: Preflight = { objects: 0, knownBytes: 0, get: 0, put: 0, list: 0 };
  const rows = [...preflight].map(([id, p]) => {
    for (const field of Object.keys(total) as Array<keyof Preflight>) total[field] += p[field];
    const [table, scope] = id.split('\t');
    return [table!, scope!, count(p.objects), bytes(p.knownBytes), count(p.get), count(p.put), count(p.list)];
  });
  rows.push([
    'total',
    '',
    count(total.objects),
    bytes(total.knownBytes),
    count(total.get),
    count(total.put),
    count(total.list),
  ]);
  return (
    '\npre-flight: a first sync into an empty destination\n' +
    textTable(['table', 'scope', 'objects', 'known bytes', 'GET', 'PUT', 'LIST'], rows) +
    'known bytes: originals only (the database does not record the size of generated styles);\n' +
    'a re-run makes only the LIST requests (about one per 1,000 objects); server-side copy replaces GET + PUT by one COPY.\n'
  );
}

function uploadShape(ctx: CommandContext): UploadShape {
  const sync = getSection(ctx.file, SYNC, false);
  return { multipartThreshold: sync.multipart_threshold, partSize: sync.part_size };
}

/** The key prefix and ACL Mastodon uses: [s3.source] key_prefix (S3 only), [s3.destination] acl. */
export function catalogOptionsFrom(
  ctx: CommandContext,
  keyPrefixFlag: string | undefined,
): Omit<CatalogOptions, 'rules'> {
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

export async function runPlanCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: PlanOptions,
  out: Writable,
  cleanup: Cleanup,
): Promise<number> {
  const catalog = catalogOptionsFrom(ctx, options.keyPrefix);
  parseTypes(types); // usage errors before connecting
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup);

  const { summaries, preflight } = await runPlan(
    db,
    { tables, columns, read, catalog: { ...catalog, rules: mastodon.rules } },
    {
      preflight: options.format === 'summary' ? uploadShape(ctx) : null,
      ...(options.format !== 'summary'
        ? { onKeys: (keys: readonly CatalogKey[]) => writeChunk(out, formatKeys(keys, options.format)) }
        : {}),
    },
  );
  ctx.log.debug({ tables: Object.fromEntries(summaries) }, 'listed');
  if (options.format === 'summary') {
    // Last, so the tables above keep their place for scripts that read them.
    const version = `\nMastodon ${mastodon.range} (schema version ${mastodon.schemaVersion ?? 'unknown'})\n`;
    await writeChunk(out, renderSummary(summaries) + renderPreflight(preflight) + version);
  }
  return 0;
}
