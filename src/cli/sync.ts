/**
 * `sync [TYPE...]` (and `jobs TYPE --dev`): copy every key the database references from the
 * source store to the destination store, in this process.
 */
import { databaseConfig } from '../config/database.ts';
import { runSync } from '../run/sync.ts';
import { parseTypes } from '../run/tables.ts';
import { ReportWriter } from '../transfer/report.ts';
import { Stats } from '../transfer/stats.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openCopySetup } from './copy-setup.ts';
import { openDatabase } from './open-database.ts';
import { writeChunk } from './output.ts';
import { Progress, renderSummary, summarize } from './progress.ts';

export interface SyncOptions {
  limit?: number;
  offset?: number;
  sinceId?: string;
  batchSize?: number;
  concurrency?: number;
  dryRun?: boolean;
  force?: boolean;
  checksum?: boolean;
  report?: string;
  json?: boolean;
  progress?: boolean;
}

/** First Ctrl-C stops reading rows and lets copies finish; the second aborts them. */
export interface Interrupts {
  stop: AbortController;
  abort: AbortController;
}

export async function runSyncCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: SyncOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types); // usage errors before connecting anywhere
  const dbConfig = databaseConfig(ctx.file);
  const { source, dest, destConfig, settings } = await openCopySetup(ctx, options, cleanup);

  const { db, columns, tables, read } = await openDatabase(ctx, dbConfig, types, options, cleanup);

  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());
  const stats = new Stats();
  ctx.log.info(
    {
      source: source.description,
      destination: dest.description,
      tables,
      concurrency: settings.concurrency,
      serverSide: settings.serverSide,
      dryRun: settings.dryRun,
    },
    'sync starting',
  );

  const progress = new Progress(stats, ctx.log, options.progress !== false && Boolean(process.stderr.isTTY));
  progress.start();
  try {
    await runSync(
      {
        db,
        source,
        dest,
        stats,
        log: ctx.log,
        report,
        abort: interrupts.abort.signal,
        stop: interrupts.stop.signal,
      },
      { ...settings, tables, columns, read, catalog: { keyPrefix: '', acl: destConfig.acl } },
    );
  } finally {
    progress.stop();
    await report?.close().catch(() => {});
  }

  const summary = summarize(stats.snapshot(), Boolean(options.dryRun));
  if (options.json) await writeChunk(process.stdout, `${JSON.stringify(summary)}\n`);
  else await writeChunk(process.stdout, renderSummary(summary));
  if (interrupts.stop.signal.aborted) return 130;
  return summary.failed > 0 ? 1 : 0;
}
