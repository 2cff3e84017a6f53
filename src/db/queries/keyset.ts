/**
 * The keyset SELECT every table is read with.
 *
 * Columns: `id::text` plus whichever of the table's wanted columns exist in this database
 * (catalog's `wantedColumns` ∩ introspection), so one query serves Mastodon 3.x to 4.6.
 * Parameters: $1 = the last id already read (exclusive; '0' to start, which also skips the
 * instance actor's negative id), $2 = batch size.
 * Order: by id, so a run can resume from the last id it saw.
 */
export function keysetQuery(schema: string, table: string, columns: readonly string[]): string {
  // `t.id` everywhere: a bare `id` in ORDER BY would sort the text output column, and
  // '108…' (a snowflake) sorts before '21…' (an old sequence id) as text.
  const list = columns.map((c) => (c === 'id' ? 't.id::text AS id' : `t.${quoteIdent(c)}`)).join(', ');
  return `SELECT ${list} FROM ${quoteIdent(schema)}.${quoteIdent(table)} AS t WHERE t.id > $1 ORDER BY t.id LIMIT $2`;
}

/**
 * Offset → the id to continue after: the id of row number `offset` (1-based) with id > $1.
 * Parameters: $1 = lower bound (exclusive), $2 = offset - 1.
 */
export function offsetQuery(schema: string, table: string): string {
  return `SELECT t.id::text AS id FROM ${quoteIdent(schema)}.${quoteIdent(table)} AS t WHERE t.id > $1 ORDER BY t.id OFFSET $2 LIMIT 1`;
}

/** Counts the rows a run will read. Parameters: $1 = lower bound (exclusive). */
export function countQuery(schema: string, table: string): string {
  return `SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.${quoteIdent(table)} WHERE id > $1`;
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
