/**
 * `orphans [TYPE...]`: objects in the source store under Mastodon's prefixes that no database
 * row references, with counts and bytes. Read-only: it never deletes anything.
 */
import type { Writable } from 'node:stream';
import { getSection } from '../config/load.ts';
import { SYNC } from '../config/schema.ts';
import { storeConfig } from '../config/stores.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/retry.ts';
import { runOrphans } from '../run/orphans.ts';
import { parseTypes } from '../run/tables.ts';
import { openStore } from '../storage/open.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { checkStore } from './copy-setup.ts';
import { openDatabase } from './open-database.ts';
import { bytes, count, textTable, writeChunk } from './output.ts';

export interface OrphansOptions {
  format: 'summary' | 'keys' | 'ndjson';
  json?: boolean;
}

export async function runOrphansCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: OrphansOptions,
  out: Writable,
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<number> {
  parseTypes(types);
  const config = storeConfig(ctx.file, 'source');
  const source = openStore(config, {
    concurrency: 4,
    multipartThreshold: 15 * 1024 ** 2,
    partSize: 8 * 1024 ** 2,
  });
  cleanup.add(() => source.close());
  await checkStore(source, `source ${source.description}`, false);
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, {}, cleanup);

  const { scans, listRequests } = await runOrphans({
    db,
    source,
    plan: { tables, columns, read, catalog: { keyPrefix: '', acl: null, rules: mastodon.rules } },
    policy: {
      retry: { ...DEFAULT_RETRY_POLICY, retries: getSection(ctx.file, SYNC, false).retries },
      signal,
    },
    onOrphan: async (item, table) => {
      if (options.format === 'keys') await writeChunk(out, `${item.key}\n`);
      else if (options.format === 'ndjson')
        await writeChunk(out, `${JSON.stringify({ key: item.key, size: item.size, table })}\n`);
    },
  });
  for (const scan of scans) ctx.log.debug({ ...scan }, 'listed');
  const total = scans.reduce(
    (t, s) => ({
      listed: t.listed + s.listed,
      orphans: t.orphans + s.orphans,
      orphanBytes: t.orphanBytes + s.orphanBytes,
      directoryMarkers: t.directoryMarkers + s.directoryMarkers,
    }),
    { listed: 0, orphans: 0, orphanBytes: 0, directoryMarkers: 0 },
  );
  if (options.format === 'summary') {
    if (options.json) {
      await writeChunk(out, `${JSON.stringify({ ...total, listRequests, prefixes: scans })}\n`);
    } else {
      const rows = scans
        .filter((s) => s.listed > 0)
        .map((s) => [
          s.prefix,
          count(s.listed),
          count(s.referenced),
          count(s.orphans),
          bytes(s.orphanBytes),
          count(s.directoryMarkers),
        ]);
      rows.push([
        'total',
        count(total.listed),
        count(total.listed - total.orphans - total.directoryMarkers),
        count(total.orphans),
        bytes(total.orphanBytes),
        count(total.directoryMarkers),
      ]);
      await writeChunk(
        out,
        textTable(['prefix', 'objects', 'referenced', 'orphans', 'orphan bytes', 'directory keys'], rows) +
          `${source.description}: listed with ${count(listRequests)} requests; nothing was deleted.\n`,
      );
    }
  }
  return 0;
}
