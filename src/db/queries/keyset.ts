/**
 * The keyset SELECT every table is read with.
 *
 * Columns: `id::text` plus whichever of the table's wanted columns exist in this database
 * (catalog's `wantedColumns` ∩ introspection), so one query serves Mastodon 3.x to 4.6.
 * Parameters: $1 = the last id already read (exclusive; '0' to start, which also skips the
 * instance actor's negative id), $2 = batch size.
 * Order: by id, so a run can resume from the last id it saw.
 */
/** What a keyset read adds to the plain table scan. */
export interface KeysetExtras {
  /**
   * media_attachments: also select whether the owning account is suspended
   * (`account_suspended`), from this accounts column (`suspended_at` since 3.0, `suspended` before).
   */
  suspendedColumn?: 'suspended_at' | 'suspended';
  /**
   * media_attachments: also select whether the media's status is discarded
   * (`status_discarded`): `statuses.deleted_at` set, as RemoveStatusService leaves a removed
   * reported or preserved post while making its media private. A status_id whose status row
   * is missing counts as discarded (unsure means private).
   */
  statusDiscarded?: boolean;
  /**
   * Delta sync: only rows changed since $3 (a UTC timestamp): any of these `*_updated_at`
   * columns at or after it, or (snowflake-id tables) an id at or above $4.
   */
  changedSince?: { updatedAtColumns: readonly string[]; snowflake: boolean };
  /**
   * media_attachments: only the media of these accounts ($3, bigint[]) or statuses ($4,
   * bigint[]) — those whose suspension or discard changed since the last run. Not combined
   * with `changedSince`.
   */
  owners?: true;
}

/**
 * Parameters: $1 = last id (exclusive), $2 = batch size; with `changedSince`: $3 = timestamp,
 * $4 = lowest snowflake id of that time (snowflake tables only).
 */
export function keysetQuery(
  schema: string,
  table: string,
  columns: readonly string[],
  extras: KeysetExtras = {},
): string {
  // `t.id` everywhere: a bare `id` in ORDER BY would sort the text output column, and
  // '108…' (a snowflake) sorts before '21…' (an old sequence id) as text.
  const selected = columns.map((c) => (c === 'id' ? 't.id::text AS id' : `t.${quoteIdent(c)}`));
  let join = '';
  if (extras.suspendedColumn && table === 'media_attachments') {
    const flag =
      extras.suspendedColumn === 'suspended_at'
        ? 'a.suspended_at IS NOT NULL'
        : 'coalesce(a.suspended, false)';
    selected.push(`(${flag}) AS account_suspended`);
    join = ` LEFT JOIN ${quoteIdent(schema)}."accounts" AS a ON a.id = t.account_id`;
  }
  if (extras.statusDiscarded && table === 'media_attachments') {
    selected.push(
      '(t.status_id IS NOT NULL AND (s.id IS NULL OR s.deleted_at IS NOT NULL)) AS status_discarded',
    );
    join += ` LEFT JOIN ${quoteIdent(schema)}."statuses" AS s ON s.id = t.status_id`;
  }
  const where = ['t.id > $1'];
  if (extras.changedSince) where.push(changedSinceCondition(extras.changedSince));
  else if (extras.owners) where.push('(t.account_id = ANY($3::bigint[]) OR t.status_id = ANY($4::bigint[]))');
  return `SELECT ${selected.join(', ')} FROM ${quoteIdent(schema)}.${quoteIdent(table)} AS t${join} WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $2`;
}

function changedSinceCondition(changed: NonNullable<KeysetExtras['changedSince']>): string {
  const parts = changed.updatedAtColumns.map((c) => `t.${quoteIdent(c)} >= $3::timestamp`);
  if (changed.snowflake) parts.push('t.id >= $4::bigint');
  // Never `false`-by-omission: a table without any such column is read whole.
  return parts.length === 0 ? 'true' : `(${parts.join(' OR ')})`;
}

/**
 * Offset → the id to continue after: the id of row number `offset` (1-based) with id > $1.
 * Parameters: $1 = lower bound (exclusive), $2 = offset - 1.
 */
export function offsetQuery(schema: string, table: string): string {
  return `SELECT t.id::text AS id FROM ${quoteIdent(schema)}.${quoteIdent(table)} AS t WHERE t.id > $1 ORDER BY t.id OFFSET $2 LIMIT 1`;
}

/**
 * Counts the rows a run will read. Parameters: $1 = lower bound (exclusive); with
 * `changedSince`, $2 and $3 as $3 and $4 of the keyset query.
 */
export function countQuery(
  schema: string,
  table: string,
  changedSince?: KeysetExtras['changedSince'],
): string {
  const base = `SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.${quoteIdent(table)} AS t WHERE t.id > $1`;
  if (!changedSince) return base;
  return `${base} AND ${changedSinceCondition(changedSince).replace(/\$3/g, '$2').replace(/\$4/g, '$3')}`;
}

/** Accounts that are suspended now (Mastodon privatizes their media). */
export function suspendedAccountsQuery(schema: string, column: 'suspended_at' | 'suspended'): string {
  const flag = column === 'suspended_at' ? 'suspended_at IS NOT NULL' : 'coalesce(suspended, false)';
  return `SELECT id::text AS id FROM ${quoteIdent(schema)}."accounts" WHERE ${flag}`;
}

/** Discarded statuses that have media (index_statuses_on_deleted_at, 3.5+, makes this cheap). */
export function discardedStatusesQuery(schema: string): string {
  return `SELECT s.id::text AS id FROM ${quoteIdent(schema)}."statuses" AS s WHERE s.deleted_at IS NOT NULL AND EXISTS (SELECT 1 FROM ${quoteIdent(schema)}."media_attachments" AS m WHERE m.status_id = s.id)`;
}

/** Which columns of which tables exist. Parameters: $1 = schema, $2 = table names. */
export const INTROSPECT_COLUMNS = `SELECT table_name::text AS table_name, column_name::text AS column_name
  FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2::text[])`;

/** The newest applied migration (Mastodon's schema version), if the table exists. Parameter: $1 = schema. */
export const SCHEMA_VERSION = `SELECT max(version)::text AS version FROM schema_migrations`;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The planner's row estimate (instant, unlike count(*) on a large table); -1 or 0 when the
 * table was never analysed. Parameters: $1 = schema, $2 = table.
 */
export const ESTIMATE_ROWS = `SELECT c.reltuples::bigint::text AS n FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`;
