/**
 * `sync [TYPE...]` (and `jobs TYPE --dev`): copy every key the database references from the
 * source store to the destination store, in this process.
 */
import { databaseConfig } from '../config/database.ts';
import { getSection } from '../config/load.ts';
import { SYNC } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import { allInOrder } from '../lib/settled.ts';
import { metricsOfStats } from '../metrics/sources.ts';
import { type ScopeFlags, scopePasses, scopeProblem } from '../run/scope.ts';
import { parseSince, recordCompleted, resolveSince, statePath } from '../run/state.ts';
import { assertNotFollowed } from '../run/state-lock.ts';
import { runSync, type SyncResult, type SyncSettings } from '../run/sync.ts';
import { parseTypes } from '../run/tables.ts';
import { ReportWriter } from '../transfer/report.ts';
import { Stats } from '../transfer/stats.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { type CopySetup, prepareCopySetup } from './copy-setup.ts';
import { type MetricsFlags, startProcessMetrics } from './metrics.ts';
import { openDatabase } from './open-database.ts';
import { writeChunk } from './output.ts';
import { Progress, renderSummary, summarize } from './progress.ts';

export interface SyncOptions extends ScopeFlags, MetricsFlags {
  /** Delta sync: an ISO time, a duration (6h) or "last". */
  since?: string;
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
  /** What the first signal's message says will happen (default: copies in flight finish). */
  stopMessage?: string;
}

/** What a run of `sync` (or a pass of `sync --follow`) copies, and how, from what the command opened. */
export function syncSettingsOf(
  ctx: CommandContext,
  setup: Pick<CopySetup, 'settings' | 'destConfig'>,
  opened: Pick<Awaited<ReturnType<typeof openDatabase>>, 'tables' | 'columns' | 'read' | 'mastodon'>,
  options: ScopeFlags,
  state: string,
): SyncSettings {
  return {
    ...setup.settings,
    retryPasses: getSection(ctx.file, SYNC, false).retry_passes,
    tables: opened.tables,
    columns: opened.columns,
    read: opened.read,
    catalog: { keyPrefix: '', acl: setup.destConfig.acl, rules: opened.mastodon.rules },
    passes: scopePasses(options),
    statePath: state,
  };
}

export async function runSyncCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: SyncOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types); // usage errors before connecting anywhere
  const scope = scopeProblem(options);
  if (scope) throw new ConfigError(scope);
  const since = options.since;
  if (since !== undefined && since !== 'last') parseSince(since);
  const state = statePath(ctx.file.path);
  if (!options.dryRun) assertNotFollowed(state);
  const startedAt = new Date();
  const dbConfig = databaseConfig(ctx.file);
  // Config errors first (prepare throws them at once); then the stores' checks and the
  // database connection, independent round trips, at once.
  const prepared = prepareCopySetup(ctx, options, cleanup);
  const { source, dest, destConfig, settings } = prepared.setup;
  const [, { db, columns, tables, read, mastodon }] = await allInOrder([
    prepared.check(),
    openDatabase(ctx, types, options, cleanup, dbConfig),
  ]);

  const changedSince = resolveSince(since, tables, state);
  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());
  const stats = new Stats();
  await startProcessMetrics(ctx, options, cleanup, () => metricsOfStats(stats.snapshot()));
  ctx.log.info(
    {
      source: source.description,
      destination: dest.description,
      tables,
      concurrency: settings.concurrency,
      serverSide: settings.serverSide,
      dryRun: settings.dryRun,
      ...(changedSince
        ? { since: Object.fromEntries([...changedSince].map(([t, d]) => [t, d.toISOString()])) }
        : {}),
    },
    'sync starting',
  );

  const progress = new Progress(stats, ctx.log, options.progress !== false && Boolean(process.stderr.isTTY));
  progress.start();
  let result: SyncResult = { refusal: null, acl: null };
  try {
    result = await runSync(
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
        ...syncSettingsOf(ctx, { settings, destConfig }, { tables, columns, read, mastodon }, options, state),
        ...(changedSince ? { changedSince } : {}),
      },
    );
  } finally {
    progress.stop();
    await report?.close().catch(() => {});
  }

  const { refusal, acl } = result;
  const summary = summarize(stats.snapshot(), Boolean(options.dryRun));
  const output = {
    ...summary,
    ...(acl ? { aclReapplied: acl.objects, aclFailed: acl.failed } : {}),
    ...(refusal ? { stopped: ctx.redact(refusal) } : {}),
  };
  if (options.json) await writeChunk(process.stdout, `${JSON.stringify(output)}\n`);
  else await writeChunk(process.stdout, renderSummary(summary));
  if (refusal) return 1;
  if (interrupts.stop.signal.aborted) return 130;
  if (summary.failed > 0 || (acl?.failed ?? 0) > 0) return 1;
  // Whole tables read, nothing failed: `--since last` starts from this run's start next time.
  const whole =
    options.limit === undefined &&
    options.offset === undefined &&
    options.sinceId === undefined &&
    !options.localOnly &&
    !options.remoteOnly &&
    !options.skipRemoteCache;
  if (whole && !settings.dryRun) recordCompleted(state, tables, startedAt);
  return 0;
}
