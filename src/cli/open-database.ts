/** What plan and sync share: open the Mastodon database, pick the tables, shape the read. */
import { type DatabaseConfig, databaseConfig } from '../config/database.ts';
import { MastodonDatabase } from '../db/database.ts';
import { type ReadOptions, stateJoins } from '../db/reader.ts';
import type { TableName } from '../mastodon/types.ts';
import { detectVersion, type MastodonVersion } from '../mastodon/versions.ts';
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
  /** Which Mastodon version wrote the database, and its rules (for the catalog). */
  mastodon: MastodonVersion;
}

/** Opens the database (closed by `cleanup`), introspects it and resolves the TYPE arguments. */
export async function openDatabase(
  ctx: CommandContext,
  types: readonly string[],
  flags: ReadFlags,
  cleanup: Cleanup,
  config: DatabaseConfig = databaseConfig(ctx.file),
): Promise<OpenedDatabase> {
  const requested = parseTypes(types);
  const db = await MastodonDatabase.open(config, ctx.log);
  cleanup.add(() => db.close());
  const columns = await db.introspect();
  const where = `${db.target} (schema ${config.schema})`;
  const tables = presentTables(requested, columns, ctx.log, types.length > 0, where);
  const mastodon = detectVersion(await db.schemaVersion());
  ctx.log.debug(
    { target: db.target, schemaVersion: mastodon.schemaVersion, mastodon: mastodon.range, tables },
    'reading',
  );
  if (mastodon.warning) ctx.log.warn(mastodon.warning);

  const read: ReadOptions = {
    batchSize: flags.batchSize ?? config.batchSize,
    ...stateJoins(columns, await db.columnsOf('statuses')),
  };
  if (flags.limit !== undefined) read.limit = flags.limit;
  if (flags.offset !== undefined) read.offset = flags.offset;
  if (flags.sinceId !== undefined) read.sinceId = flags.sinceId;
  return { db, columns, tables, read, mastodon };
}
