/** `config check`: validate every section and print what was understood, secrets hidden. */
import type { Writable } from 'node:stream';
import { type DatabaseConfig, databaseConfig } from '../config/database.ts';
import type { Field } from '../config/fields.ts';
import { getSection } from '../config/load.ts';
import { DATABASE, SECTIONS } from '../config/schema.ts';
import { MastodonDatabase } from '../db/database.ts';
import { detectVersion } from '../mastodon/versions.ts';
import type { CommandContext } from './context.ts';
import { writeChunk } from './output.ts';

/** At most this long to reach the database for its version: `config check` is a quick look. */
const VERSION_PROBE_TIMEOUT_MS = 5000;

/**
 * The Mastodon version of the configured database, as one summary line; a database that
 * cannot be reached does not make the config invalid (a warning says why).
 */
async function mastodonVersionLine(ctx: CommandContext): Promise<string> {
  let config: DatabaseConfig;
  try {
    config = databaseConfig(ctx.file);
  } catch {
    return ''; // reported above as a warning
  }
  const probe = { ...config, connectTimeoutMs: Math.min(config.connectTimeoutMs, VERSION_PROBE_TIMEOUT_MS) };
  let db: MastodonDatabase | null = null;
  try {
    db = await MastodonDatabase.open(probe, ctx.log);
    const version = detectVersion(await db.schemaVersion());
    if (version.warning) ctx.log.warn(version.warning);
    return `\nMastodon ${version.range} (schema version ${version.schemaVersion ?? 'unknown'}) at ${db.target}\n`;
  } catch (error) {
    ctx.log.warn(`database not reached, Mastodon version not checked: ${(error as Error).message}`);
    return '';
  } finally {
    await db?.close();
  }
}

export async function runConfigCheck(
  ctx: CommandContext,
  out: Writable,
  options: { database?: boolean } = {},
): Promise<number> {
  let text = `${ctx.file.displayPath}: OK\n`;
  for (const def of SECTIONS) {
    const present = ctx.file.sections.has(def.name);
    const values = getSection(ctx.file, def, false) as Record<string, unknown>;
    text += `\n[${def.name}]${present ? '' : ' (absent: defaults)'}\n`;
    for (const [key, field] of Object.entries(def.fields as Record<string, Field<unknown>>)) {
      const value = values[key];
      const shown = field.meta.secret
        ? value
          ? '(set, hidden)'
          : '(empty)'
        : value === undefined
          ? '(unset)'
          : ctx.redact(String(value));
      text += `  ${key} = ${shown}\n`;
    }
  }
  const tunnel = getSection(ctx.file, SECTIONS[3], false);
  if (tunnel.enabled) {
    try {
      databaseConfig(ctx.file); // reads the key / known_hosts files, so a missing one is named
    } catch (error) {
      // A file that is not there yet does not make the config invalid; connecting will say so.
      ctx.log.warn((error as Error).message);
    }
    if (!tunnel.host_fingerprint && !tunnel.known_hosts) {
      ctx.log.warn(
        '[pg.tunnel] has neither host_fingerprint nor known_hosts: connecting will be refused until one is set',
      );
    }
  }
  if (options.database !== false && ctx.file.sections.has(DATABASE.name))
    text += ctx.redact(await mastodonVersionLine(ctx));
  await writeChunk(out, text); // values were redacted one by one above
  return 0;
}
