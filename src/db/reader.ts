/**
 * Streams a table in id order with keyset pagination (`WHERE id > $last ORDER BY id LIMIT n`):
 * never a whole table in memory, and resumable from any id. Only the columns that exist in
 * this database are selected, so the same code reads Mastodon 3.x through 4.6.
 */
import { TABLES, wantedColumns } from '../mastodon/attachments.ts';
import type { Row, TableName } from '../mastodon/types.ts';
import type { MastodonDatabase } from './database.ts';
import { countQuery, ESTIMATE_ROWS, type KeysetExtras, keysetQuery, offsetQuery } from './queries/keyset.ts';

export interface ReadOptions {
  /** Start after this id (exclusive). Ids ≤ 0 (the instance actor) are always skipped. */
  sinceId?: string;
  /** Skip this many rows first (the original tool's --offset). */
  offset?: number;
  /** Read at most this many rows (the original tool's --limit). */
  limit?: number;
  batchSize: number;
  /** Delta sync: only rows changed at or after this time (see `changedSinceExtras`). */
  changedSince?: Date;
  /** The accounts column that says an account is suspended, when the database has one. */
  suspendedColumn?: 'suspended_at' | 'suspended';
  /** The database has `statuses.deleted_at`: tell the catalog which media's status is discarded. */
  statusDiscarded?: boolean;
  /** media_attachments only: just the media of these accounts or statuses (ids as strings). */
  owners?: { accounts: readonly string[]; statuses: readonly string[] };
}

/**
 * What the reader adds to media rows so the catalog can tell their ACL, given the columns this
 * database has: whether the owner is suspended (`suspended_at` since 3.0, `suspended` before)
 * and whether the status is discarded (`statuses.deleted_at`).
 */
export function stateJoins(
  columns: ReadonlyMap<TableName, ReadonlySet<string>>,
  statusColumns: ReadonlySet<string>,
): Pick<ReadOptions, 'suspendedColumn' | 'statusDiscarded'> {
  const accounts = columns.get('accounts');
  const joins: Pick<ReadOptions, 'suspendedColumn' | 'statusDiscarded'> = {};
  if (accounts?.has('suspended_at')) joins.suspendedColumn = 'suspended_at';
  else if (accounts?.has('suspended')) joins.suspendedColumn = 'suspended';
  if (columns.get('media_attachments')?.has('status_id') && statusColumns.has('deleted_at'))
    joins.statusDiscarded = true;
  return joins;
}

/** Tables whose ids are snowflakes (time << 16) since the Mastodon version noted. */
const SNOWFLAKE_TABLES: ReadonlySet<TableName> = new Set(['media_attachments', 'accounts']);

/** The lowest snowflake id Mastodon could have given a row created at `at`. */
export function snowflakeLowerBound(at: Date): string {
  return (BigInt(Math.max(0, at.getTime())) << 16n).toString();
}

/** Mastodon stores `*_updated_at` in UTC without a zone: the same for the query parameter. */
function utcTimestamp(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

function keysetExtras(table: TableName, existing: ReadonlySet<string>, options: ReadOptions): KeysetExtras {
  const extras: KeysetExtras = {};
  if (options.suspendedColumn && existing.has('account_id')) extras.suspendedColumn = options.suspendedColumn;
  if (options.statusDiscarded && existing.has('status_id')) extras.statusDiscarded = true;
  if (options.owners && table === 'media_attachments' && !options.changedSince) extras.owners = true;
  if (options.changedSince) {
    extras.changedSince = {
      updatedAtColumns: TABLES[table].attachments
        .map((a) => `${a.name}_updated_at`)
        .filter((c) => existing.has(c)),
      snowflake: SNOWFLAKE_TABLES.has(table),
    };
  }
  return extras;
}

function deltaParameters(table: TableName, options: ReadOptions): unknown[] {
  if (!options.changedSince) {
    if (options.owners && table === 'media_attachments')
      return [[...options.owners.accounts], [...options.owners.statuses]];
    return [];
  }
  const at = utcTimestamp(options.changedSince);
  return SNOWFLAKE_TABLES.has(table) ? [at, snowflakeLowerBound(options.changedSince)] : [at];
}

/** The columns to select for a table, given the columns that exist. */
export function selectableColumns(table: TableName, existing: ReadonlySet<string>): string[] {
  return wantedColumns(TABLES[table]).filter((column) => existing.has(column));
}

/** Why a table cannot be read as a Mastodon table, or null if it can. */
export function tableProblem(table: TableName, existing: ReadonlySet<string>): string | null {
  const required = [
    'id',
    ...TABLES[table].attachments.filter((a) => !a.optional).map((a) => `${a.name}_file_name`),
  ];
  const missing = required.filter((column) => !existing.has(column));
  return missing.length === 0 ? null : `table ${table} has no column ${missing.join(', ')}`;
}

function lowerBound(sinceId: string | undefined): string {
  if (sinceId === undefined || !/^\d+$/.test(sinceId)) return '0';
  return sinceId;
}

/** The id to continue after once `offset` rows past `after` are skipped, or null if there are fewer rows. */
async function skipRows(
  db: MastodonDatabase,
  table: TableName,
  after: string,
  offset: number,
): Promise<string | null> {
  if (offset <= 0) return after;
  const rows = await db.query<{ id: string }>(offsetQuery(db.config.schema, table), [after, offset - 1]);
  return rows[0]?.id ?? null;
}

/** Yields batches of rows (at most `batchSize` each), in id order. */
export async function* readTable(
  db: MastodonDatabase,
  table: TableName,
  existing: ReadonlySet<string>,
  options: ReadOptions,
): AsyncGenerator<Row[]> {
  const sql = keysetQuery(
    db.config.schema,
    table,
    selectableColumns(table, existing),
    keysetExtras(table, existing, options),
  );
  const delta = deltaParameters(table, options);
  let last = await skipRows(db, table, lowerBound(options.sinceId), options.offset ?? 0);
  let remaining = options.limit ?? Number.POSITIVE_INFINITY;
  while (last !== null && remaining > 0) {
    const size = Math.min(options.batchSize, remaining);
    const rows = await db.query<Row>(sql, [last, size, ...delta]);
    if (rows.length === 0) return;
    remaining -= rows.length;
    last = String(rows[rows.length - 1]!['id']);
    yield rows;
    if (rows.length < size) return;
  }
}

/** How many rows `readTable` will yield (for progress and ETA). */
export async function countRows(
  db: MastodonDatabase,
  table: TableName,
  options: Omit<ReadOptions, 'batchSize'>,
  existing: ReadonlySet<string> = new Set(),
): Promise<number> {
  const extras = keysetExtras(table, existing, { ...options, batchSize: 1 });
  const rows = await db.query<{ n: string }>(countQuery(db.config.schema, table, extras.changedSince), [
    lowerBound(options.sinceId),
    ...(options.changedSince ? deltaParameters(table, { ...options, batchSize: 1 }) : []),
  ]);
  const total = Math.max(0, Number(rows[0]?.n ?? 0) - (options.offset ?? 0));
  return Math.min(total, options.limit ?? Number.POSITIVE_INFINITY);
}

/**
 * About how many rows a read will yield, for progress: the planner's estimate on large tables
 * (count(*) on tens of millions of rows takes too long to wait for), an exact count on small
 * or never-analysed ones, and for bounded reads (--since-id, delta sync).
 */
export async function estimateRows(
  db: MastodonDatabase,
  table: TableName,
  options: Omit<ReadOptions, 'batchSize'>,
  existing: ReadonlySet<string> = new Set(),
): Promise<number> {
  const rows = await db.query<{ n: string }>(ESTIMATE_ROWS, [db.config.schema, table]);
  const estimate = Number(rows[0]?.n ?? -1);
  if (estimate < 100_000 || options.sinceId !== undefined || options.changedSince !== undefined)
    return countRows(db, table, options, existing);
  const total = Math.max(0, estimate - (options.offset ?? 0));
  return Math.min(total, options.limit ?? Number.POSITIVE_INFINITY);
}
