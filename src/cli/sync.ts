/**
 * `sync [TYPE...]` (and `jobs TYPE --dev`): copy every key the database references from the
 * source store to the destination store, in this process.
 */
import { databaseConfig } from '../config/database.ts';
import { getSection } from '../config/load.ts';
import { CELERY, SYNC } from '../config/schema.ts';
import { type StoreConfig, storeConfig } from '../config/stores.ts';
import { ServiceError } from '../errors.ts';
import { runSync } from '../run/sync.ts';
import { parseTypes } from '../run/tables.ts';
import { StoreError } from '../storage/errors.ts';
import { openStore } from '../storage/open.ts';
import type { ObjectStore } from '../storage/types.ts';
import { ReportWriter } from '../transfer/report.ts';
import { DEFAULT_RETRY_POLICY } from '../transfer/retry.ts';
import { Stats } from '../transfer/stats.ts';
import type { Cleanup, CommandContext } from './context.ts';
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

/** Whether a server-side copy is possible: both S3, same account (endpoint, region, keys). */
function serverSideAllowed(
  mode: 'auto' | 'always' | 'never',
  source: StoreConfig,
  dest: StoreConfig,
): boolean {
  if (mode === 'never' || source.type !== 's3' || dest.type !== 's3') return false;
  return mode === 'always' || source.accountId === dest.accountId;
}

async function checkStore(store: ObjectStore, role: string, write: boolean): Promise<void> {
  try {
    await store.check({ write });
  } catch (error) {
    const message = error instanceof StoreError ? error.message : (error as Error).message;
    throw new ServiceError(`${role}: ${message}`);
  }
}

export async function runSyncCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: SyncOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types); // usage errors before connecting anywhere
  const sync = getSection(ctx.file, SYNC, false);
  const celery = getSection(ctx.file, CELERY, false);
  const sourceConfig = storeConfig(ctx.file, 'source');
  const destConfig = storeConfig(ctx.file, 'destination');
  const dbConfig = databaseConfig(ctx.file);
  const concurrency = options.concurrency ?? sync.concurrency ?? celery.concurrency ?? 16;

  const tuning = { concurrency, multipartThreshold: sync.multipart_threshold, partSize: sync.part_size };
  const source = openStore(sourceConfig, tuning);
  const dest = openStore(destConfig, tuning);
  cleanup.add(() => source.close());
  cleanup.add(() => dest.close());
  await checkStore(source, `source ${source.description}`, false);
  await checkStore(dest, `destination ${dest.description}`, !options.dryRun);

  const { db, columns, tables, read } = await openDatabase(ctx, dbConfig, types, options, cleanup);

  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());
  const stats = new Stats();
  const serverSide = serverSideAllowed(sync.server_side_copy, sourceConfig, destConfig);
  ctx.log.info(
    {
      source: source.description,
      destination: dest.description,
      tables,
      concurrency,
      serverSide,
      dryRun: Boolean(options.dryRun),
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
      {
        tables,
        columns,
        read,
        catalog: { keyPrefix: '', acl: destConfig.acl },
        force: Boolean(options.force),
        checksum: Boolean(options.checksum),
        dryRun: Boolean(options.dryRun),
        concurrency,
        retry: { ...DEFAULT_RETRY_POLICY, retries: sync.retries },
        serverSide,
        cacheControl: destConfig.cacheControl,
        maxRequestsPerSecond: sync.max_requests_per_second,
      },
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
