/** What plan and sync share: open the Mastodon database, pick the tables, shape the read. */
import type { DatabaseConfig } from '../config/database.ts';
import { MastodonDatabase } from '../db/database.ts';
import type { ReadOptions } from '../db/reader.ts';
import type { TableName } from '../mastodon/types.ts';
import { parseTypes, presentTables } from '../run/tables.ts';
import type { Cleanup, CommandContext } from './context.ts';

export interface ReadFlags {
  limit?: number;
  offset?: number;
  sinceId?: string;
  batchSize?: number;
}

export interface OpenedDatabase {
  db: MastodonDatabase;
  columns: Map<TableName, Set<string>>;
  tables: TableName[];
  read: ReadOptions;
}

/** Opens the database (closed by `cleanup`), introspects it and resolves the TYPE arguments. */
export async function openDatabase(
  ctx: CommandContext,
  config: DatabaseConfig,
  types: readonly string[],
  flags: ReadFlags,
  cleanup: Cleanup,
): Promise<OpenedDatabase> {
  const requested = parseTypes(types);
  const db = await MastodonDatabase.open(config, ctx.log);
  cleanup.add(() => db.close());
  const columns = await db.introspect();
  const where = `${db.target} (schema ${config.schema})`;
  const tables = presentTables(requested, columns, ctx.log, types.length > 0, where);
  ctx.log.debug({ target: db.target, schemaVersion: await db.schemaVersion(), tables }, 'reading');

  const read: ReadOptions = { batchSize: flags.batchSize ?? config.batchSize };
  // Media of suspended accounts are private at Mastodon: the reader tells the catalog.
  const accounts = columns.get('accounts');
  if (accounts?.has('suspended_at')) read.suspendedColumn = 'suspended_at';
  else if (accounts?.has('suspended')) read.suspendedColumn = 'suspended';
  if (flags.limit !== undefined) read.limit = flags.limit;
  if (flags.offset !== undefined) read.offset = flags.offset;
  if (flags.sinceId !== undefined) read.sinceId = flags.sinceId;
  return { db, columns, tables, read };
}
