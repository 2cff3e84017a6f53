/** `config check`: validate every section and print what was understood, secrets hidden. */
import type { Writable } from 'node:stream';
import { databaseConfig } from '../config/database.ts';
import type { Field } from '../config/fields.ts';
import { getSection } from '../config/load.ts';
import { SECTIONS } from '../config/schema.ts';
import type { CommandContext } from './context.ts';
import { writeChunk } from './output.ts';

export async function runConfigCheck(ctx: CommandContext, out: Writable): Promise<number> {
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
  await writeChunk(out, text); // values were redacted one by one above
  return 0;
}
