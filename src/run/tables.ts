/**
 * Which tables a command works on: the types the user named (or all), checked against what
 * this database has.
 */

import { tableProblem } from '../db/reader.ts';
import { ConfigError, ServiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';

/** Why a table may be absent, for a friendlier warning. */
const ABSENT_BECAUSE: Partial<Record<TableName, string>> = {
  imports: 'Mastodon 4.4 dropped it',
  preview_card_providers: 'it arrived in Mastodon 3.5',
};

export function parseTypes(types: readonly string[]): TableName[] {
  const known = new Set<string>(TABLE_NAMES);
  for (const type of types) {
    if (!known.has(type))
      throw new ConfigError(`unknown type "${type}" (known types: ${TABLE_NAMES.join(', ')})`);
  }
  const requested = types.length === 0 ? TABLE_NAMES : types;
  return TABLE_NAMES.filter((name) => requested.includes(name));
}

/** The requested tables present in the database, in the canonical order; absent ones are warned about. */
export function presentTables(
  requested: readonly TableName[],
  columns: ReadonlyMap<TableName, ReadonlySet<string>>,
  log: Logger,
  explicit: boolean,
  where: string,
): TableName[] {
  // No Mastodon table at all is a wrong database or schema name, not an empty instance:
  // reporting success there would let a sync copy nothing and look done.
  if (columns.size === 0) {
    throw new ServiceError(`no Mastodon tables in ${where}: check [pg.database] database and schema`);
  }
  const present: TableName[] = [];
  for (const table of requested) {
    const existing = columns.get(table);
    if (!existing) {
      if (explicit) {
        const why = ABSENT_BECAUSE[table];
        log.warn(`table ${table} is not in this database${why ? ` (${why})` : ''}; nothing to do for it`);
      }
      continue;
    }
    const problem = tableProblem(table, existing);
    if (problem) throw new ServiceError(`${problem}: is this a Mastodon database?`);
    present.push(table);
  }
  return present;
}
