/**
 * The distributed-mode commands: `jobs` (queue batches), `worker` (copy them), `status`
 * (counters on stdout) and `purge` (remove queues and counters). `dashboard` is in dashboard.ts.
 */
import type { Redis } from 'ioredis';
import { storeConfig } from '../config/stores.ts';
import { ConfigError } from '../errors.ts';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';
import { metricsOfStats } from '../metrics/sources.ts';
import { OverviewReader } from '../queue/overview.ts';
import { enqueueTables } from '../queue/producer.ts';
import { SharedProgress } from '../queue/progress.ts';
import { type BatchQueue, closeQueues, openQueues } from '../queue/queues.ts';
import { connectRedis } from '../queue/redis.ts';
import { forgetTables, requeueFailed } from '../queue/requeue.ts';
import { type QueueSettings, queueSettings } from '../queue/settings.ts';
import { QueueWorker } from '../queue/worker.ts';
import { BatchCopier } from '../run/copier.ts';
import { parseTypes } from '../run/tables.ts';
import { Stats } from '../transfer/stats.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openCopySetup } from './copy-setup.ts';
import { type MetricsFlags, startProcessMetrics } from './metrics.ts';
import { openDatabase, type ReadFlags } from './open-database.ts';
import { bytes, count, textTable, writeChunk } from './output.ts';
import type { Interrupts } from './sync.ts';

export interface QueueEnvironment {
  settings: QueueSettings;
  redis: Redis;
  queues: Map<TableName, BatchQueue>;
  progress: SharedProgress;
}

/** Redis, the queues and the shared counters of `[queue]`, closed by `cleanup`. */
export async function openQueueEnvironment(
  ctx: CommandContext,
  cleanup: Cleanup,
  name: string,
): Promise<QueueEnvironment> {
  const settings = queueSettings(ctx.file);
  const redis = await connectRedis(settings, `mastodon-s3-sync:${name}`);
  cleanup.add(async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const queues = openQueues(redis, settings);
  cleanup.add(() => closeQueues(queues.values()));
  return { settings, redis, queues, progress: new SharedProgress(redis, settings.prefix) };
}

export interface JobsOptions extends ReadFlags {
  retryFailed?: boolean;
  again?: boolean;
  json?: boolean;
}

export async function runJobsCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: JobsOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  const requested = parseTypes(types);
  const env = await openQueueEnvironment(ctx, cleanup, 'jobs');
  if (options.retryFailed) {
    const requeued = await requeueFailed(env, requested, ctx.log);
    await writeChunk(
      process.stdout,
      options.json ? `${JSON.stringify({ requeued })}\n` : `requeued ${requeued} failed job(s)\n`,
    );
    return 0;
  }
  // Keys are logical (each store applies its own key_prefix); [s3.destination] decides the ACL.
  const acl = storeConfig(ctx.file, 'destination').acl;
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup);
  if (options.again) await forgetTables(env, tables);
  const summaries = await enqueueTables(
    { db, queues: env.queues, progress: env.progress, log: ctx.log, stop: interrupts.stop.signal },
    { tables, columns, read, catalog: { keyPrefix: '', acl, rules: mastodon.rules }, queue: env.settings },
  );
  if (options.json) {
    await writeChunk(process.stdout, `${JSON.stringify({ tables: summaries })}\n`);
  } else {
    const rows = summaries.map((s) => [
      s.table,
      count(s.jobs),
      count(s.rows),
      count(s.keys),
      count(s.alreadyQueued),
    ]);
    await writeChunk(
      process.stdout,
      textTable(['table', 'jobs queued', 'rows', 'keys', 'batches already queued'], rows),
    );
  }
  return interrupts.stop.signal.aborted ? 130 : 0;
}

export interface WorkerOptions extends MetricsFlags {
  concurrency?: number;
  checksum?: boolean;
  force?: boolean;
}

export async function runWorkerCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: WorkerOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  const tables = types.length > 0 ? parseTypes(types) : [...TABLE_NAMES];
  const settings = queueSettings(ctx.file);
  const { source, dest, settings: copier } = await openCopySetup(ctx, options, cleanup, settings.concurrency);
  const env = await openQueueEnvironment(ctx, cleanup, 'worker');
  const stats = new Stats();
  await startProcessMetrics(ctx, options, cleanup, () => metricsOfStats(stats.snapshot()));
  const batchCopier = new BatchCopier(
    {
      source,
      dest,
      stats,
      log: ctx.log,
      report: null,
      abort: interrupts.abort.signal,
      stop: interrupts.abort.signal,
    },
    copier,
  );
  const worker = new QueueWorker({
    connection: env.redis,
    copier: batchCopier,
    progress: env.progress,
    log: ctx.log,
    settings,
    tables,
    concurrency: copier.concurrency,
    stats,
  });
  worker.start();
  ctx.log.info(
    {
      worker: worker.id,
      redis: settings.redisDescription,
      concurrency: copier.concurrency,
      source: source.description,
      destination: dest.description,
    },
    'worker started; Ctrl-C or SIGTERM lets batches in progress finish',
  );
  // Runs until the first Ctrl-C/SIGTERM; then in-progress batches finish (a second one aborts them).
  await new Promise<void>((resolve) =>
    interrupts.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  await worker.close();
  const totals = stats.snapshot().totals;
  ctx.log.info(
    {
      batches: worker.batchesDone,
      copied: totals.copied,
      skipped: totals.skipped,
      missing: totals.missing,
      failed: totals.failed,
    },
    'worker stopped',
  );
  return 0;
}

export async function runStatusCommand(
  ctx: CommandContext,
  options: { json?: boolean },
  cleanup: Cleanup,
): Promise<number> {
  const env = await openQueueEnvironment(ctx, cleanup, 'status');
  const overview = await new OverviewReader(env.progress, env.queues).read();
  if (options.json) {
    await writeChunk(process.stdout, `${JSON.stringify(overview)}\n`);
    return 0;
  }
  const rows = [...overview.tables, { ...overview.totals, table: 'all tables' }].map((t) => [
    t.table,
    `${t.percent.toFixed(1)}%`,
    `${count(t.done)}/${count(t.keysExpected)}`,
    count(t.copied),
    count(t.skipped),
    count(t.missing),
    count(t.failed),
    bytes(t.bytes),
    `${count(t.jobs.waiting)}/${count(t.jobs.active)}/${count(t.jobs.failed)}`,
  ]);
  await writeChunk(
    process.stdout,
    textTable(
      ['table', 'progress', 'keys done', 'copied', 'skipped', 'missing', 'failed', 'bytes', 'jobs w/a/f'],
      rows,
    ) +
      `workers: ${overview.workers.length}\n` +
      (overview.follow
        ? `jobs --follow: pass ${overview.follow.pass}, lag ${overview.follow.lagSeconds} s, ${overview.follow.pendingBatches} batches of the pass pending\n`
        : ''),
  );
  return 0;
}

export async function runPurgeCommand(
  ctx: CommandContext,
  options: { yes?: boolean },
  cleanup: Cleanup,
): Promise<number> {
  if (!options.yes)
    throw new ConfigError('purge removes every queued job and counter of this prefix: add --yes');
  const env = await openQueueEnvironment(ctx, cleanup, 'purge');
  for (const queue of env.queues.values()) await queue.obliterate({ force: true });
  await env.progress.reset(TABLE_NAMES);
  await env.progress.resetRequestTotals();
  await writeChunk(
    process.stdout,
    `purged queues and counters under prefix "${env.settings.prefix}" at ${env.settings.redisDescription}\n`,
  );
  return 0;
}
