/**
 * `sync --follow [TYPE...]`: the bulk copy (for tables the state file has no position for),
 * then pass after pass of what changed (src/run/follow.ts), until SIGTERM / Ctrl-C (the first
 * finishes the current pass and saves the positions; the second aborts it) or `--until`.
 */
import { accessSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { databaseConfig } from '../config/database.ts';
import type { MastodonDatabase } from '../db/database.ts';
import { ConfigError } from '../errors.ts';
import { sleep } from '../lib/retry.ts';
import type { TableName } from '../mastodon/types.ts';
import { metricsOfStats } from '../metrics/sources.ts';
import {
  type FollowDeps,
  type FollowSettings,
  type FollowStatus,
  follow,
  type PassOutcome,
} from '../run/follow.ts';
import {
  parseInterval,
  parseSince,
  parseUntil,
  recordedPositions,
  recordPositions,
  resolveSince,
  statePath,
} from '../run/state.ts';
import { acquireStateLock } from '../run/state-lock.ts';
import { runSync } from '../run/sync.ts';
import { parseTypes } from '../run/tables.ts';
import { ReportWriter } from '../transfer/report.ts';
import { Stats, type StatsSnapshot } from '../transfer/stats.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openCopySetup } from './copy-setup.ts';
import { startProcessMetrics } from './metrics.ts';
import { openDatabase } from './open-database.ts';
import { writeChunk } from './output.ts';
import { Progress, renderSummary, summarize } from './progress.ts';
import { type Interrupts, type SyncOptions, syncSettingsOf } from './sync.ts';

/** `--interval` when not given. */
export const DEFAULT_FOLLOW_INTERVAL_MS = 30_000;
/**
 * Each pass re-reads this much before its tables' positions: Rails stamps `*_updated_at` when
 * a file is assigned and commits the row after its upload and thumbnails, seconds later for
 * large media. Rows read twice are found at the destination and skipped.
 */
export const FOLLOW_OVERLAP_MS = 120_000;

export interface FollowFlags {
  follow?: boolean;
  /** Between passes that find nothing to copy (30s, 2m, 500ms). */
  interval?: string;
  /** No pass starts after this time (ISO, or a duration from now). */
  until?: string;
}

/** Why these flags cannot go with --follow, or null. */
export function followProblem(options: SyncOptions & FollowFlags): string | null {
  const refused: Array<[boolean, string]> = [
    [
      Boolean(options.dryRun),
      '--dry-run (follow copies; run `sync --dry-run` to see what one pass would do)',
    ],
    [options.limit !== undefined, '--limit'],
    [options.offset !== undefined, '--offset'],
    [options.sinceId !== undefined, '--since-id'],
    [Boolean(options.localOnly), '--local-only'],
    [Boolean(options.remoteOnly), '--remote-only'],
    [Boolean(options.skipRemoteCache), '--skip-remote-cache'],
  ];
  const bad = refused.filter(([given]) => given).map(([, flag]) => flag);
  if (bad.length > 0)
    return `--follow copies every change of every row; it cannot be combined with ${bad.join(', ')}`;
  if (!options.follow && (options.interval !== undefined || options.until !== undefined)) {
    return '--interval and --until go with --follow';
  }
  return null;
}

/** The state file must be writable before hours of following depend on it. */
function checkStateWritable(path: string): void {
  try {
    if (existsSync(path)) closeSync(openSync(path, 'r+'));
    else accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    throw new ConfigError(
      `state file ${path} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): --follow records its position there after every pass`,
    );
  }
}

/** Where each table starts: `--since`, else the state file; tables without one get a bulk pass. */
export function startPositions(
  since: string | undefined,
  tables: readonly TableName[],
  state: string,
): Map<TableName, Date> {
  return resolveSince(since, tables, state) ?? recordedPositions(tables, state);
}

/** How a follower runs, from its flags; the state file it records positions in. */
export interface FollowerPlan {
  intervalMs: number;
  untilMs: number | undefined;
  state: string;
}

/**
 * What both followers (`sync --follow`, `jobs --follow`) check and take before connecting
 * anywhere: the timing flags, a writable state file, and its lock (released by `cleanup`).
 */
export function prepareFollower(
  ctx: CommandContext,
  options: FollowFlags & { since?: string },
  cleanup: Cleanup,
  interrupts: Interrupts,
  command: string,
  stopMessage: string,
): FollowerPlan {
  const intervalMs =
    options.interval === undefined ? DEFAULT_FOLLOW_INTERVAL_MS : parseInterval(options.interval);
  const untilMs = options.until === undefined ? undefined : parseUntil(options.until);
  if (options.since !== undefined && options.since !== 'last') parseSince(options.since);
  const state = statePath(ctx.file.path);
  checkStateWritable(state);
  interrupts.stopMessage = stopMessage;
  const release = acquireStateLock(state, command);
  cleanup.add(async () => release());
  return { intervalMs, untilMs, state };
}

/**
 * The follow loop's wiring both followers share: the database's clock, positions into the
 * state file, one status line per pass (stdout with --json, else the log), waits that a stop
 * cuts short. `onStatus` sees each status first.
 */
export function followerDeps(
  ctx: CommandContext,
  db: MastodonDatabase,
  plan: FollowerPlan,
  json: boolean | undefined,
  onStatus: (status: FollowStatus) => void,
): Omit<FollowDeps, 'runPass'> {
  return {
    databaseNow: async () => (await db.query<{ now: Date }>('SELECT now() AS now', []))[0]!.now,
    savePositions: (positions) => recordPositions(plan.state, positions),
    onStatus: (status) => {
      onStatus(status);
      if (json) void writeChunk(process.stdout, `${JSON.stringify(status)}\n`);
      else ctx.log.info(status, 'follow pass');
    },
    log: ctx.log,
    // A stop ends the wait early: sleep rejects then, and the loop sees the stop.
    sleep: (ms, signal) => sleep(ms, signal).catch(() => {}),
    now: Date.now,
  };
}

/** The loop's settings from the plan: these tables, from `start`, until `stop` aborts. */
export function followerSettings(
  tables: readonly TableName[],
  start: ReadonlyMap<TableName, Date>,
  plan: FollowerPlan,
  stop: AbortSignal,
): FollowSettings {
  return {
    tables,
    start,
    intervalMs: plan.intervalMs,
    overlapMs: FOLLOW_OVERLAP_MS,
    ...(plan.untilMs !== undefined ? { untilMs: plan.untilMs } : {}),
    stop,
  };
}

/** Seconds as the status lines and summaries show them (tenths). */
export const tenths = (seconds: number) => Math.round(seconds * 10) / 10;

/** What a pass did: the difference of two snapshots of the run's stats. */
function outcomeBetween(
  before: StatsSnapshot,
  after: StatsSnapshot,
  tables: readonly TableName[],
  interrupted: boolean,
  dbSeconds: number,
): PassOutcome {
  const delta = (field: 'copied' | 'skipped' | 'missing' | 'failed') =>
    after.totals[field] - before.totals[field];
  const failedTables = tables.filter(
    (t) => (after.tables[t]?.failed ?? 0) - (before.tables[t]?.failed ?? 0) > 0,
  );
  return {
    copied: delta('copied'),
    skipped: delta('skipped'),
    missing: delta('missing'),
    failed: delta('failed'),
    failedTables,
    interrupted,
    dbSeconds,
  };
}

export async function runFollowCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: SyncOptions & FollowFlags,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types); // usage errors before connecting anywhere
  const problem = followProblem(options);
  if (problem) throw new ConfigError(problem);
  const plan = prepareFollower(
    ctx,
    options,
    cleanup,
    interrupts,
    'sync --follow',
    'finishing this pass, then stopping (again to abort it)',
  );
  const { state } = plan;

  const dbConfig = databaseConfig(ctx.file);
  const { source, dest, destConfig, settings } = await openCopySetup(ctx, options, cleanup);
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup, dbConfig);
  const start = startPositions(options.since, tables, state);
  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());
  const stats = new Stats();
  const passSettings = syncSettingsOf(
    ctx,
    { settings, destConfig },
    { tables, columns, read, mastodon },
    options,
    state,
  );
  ctx.log.info(
    {
      source: source.description,
      destination: dest.description,
      tables,
      intervalSeconds: plan.intervalMs / 1000,
      bulk: tables.filter((t) => !start.has(t)),
      from: Object.fromEntries([...start].map(([t, d]) => [t, d.toISOString()])),
      ...(plan.untilMs !== undefined ? { until: new Date(plan.untilMs).toISOString() } : {}),
    },
    'sync --follow starting',
  );

  // The lag is unknown (no metric) until the first pass ends.
  const shown = { pass: 0, lagSeconds: null as number | null };
  await startProcessMetrics(ctx, options, cleanup, () => metricsOfStats(stats.snapshot(), shown.lagSeconds));
  const progress = new Progress(
    stats,
    ctx.log,
    options.progress !== false && Boolean(process.stderr.isTTY),
    process.stderr,
    () => `  follow pass ${shown.pass}, lag ${shown.lagSeconds ?? '-'} s`,
  );
  progress.start();
  let refusal: string | null = null;
  let result: Awaited<ReturnType<typeof follow>>;
  try {
    result = await follow(
      {
        ...followerDeps(ctx, db, plan, options.json, (status) => {
          shown.lagSeconds = status.lagSeconds;
        }),
        runPass: async (since, passNumber) => {
          shown.pass = passNumber;
          const before = stats.snapshot();
          const dbBefore = db.queryMs;
          const pass = await runSync(
            {
              db,
              source,
              dest,
              stats,
              log: ctx.log,
              report,
              abort: interrupts.abort.signal,
              // The first Ctrl-C ends following after this pass; only the second cuts a pass short.
              stop: interrupts.abort.signal,
            },
            {
              ...passSettings,
              changedSince: since,
              // The bulk pass counts (its progress has an end); delta passes do not scan twice.
              countRows: since.size === 0,
            },
          );
          refusal ??= pass.refusal;
          const cut = pass.refusal !== null || interrupts.abort.signal.aborted;
          return outcomeBetween(before, stats.snapshot(), tables, cut, (db.queryMs - dbBefore) / 1000);
        },
      },
      followerSettings(tables, start, plan, interrupts.stop.signal),
    );
  } finally {
    progress.stop();
    await report?.close().catch(() => {});
  }

  const summary = summarize(stats.snapshot(), false);
  const output = {
    ...summary,
    passes: result.passes,
    lagSeconds: tenths(result.lagSeconds),
    maxLagSeconds: tenths(result.maxLagSeconds),
    ...(refusal ? { stopped: ctx.redact(refusal) } : {}),
  };
  if (options.json) await writeChunk(process.stdout, `${JSON.stringify(output)}\n`);
  else {
    await writeChunk(process.stdout, renderSummary(summary));
    await writeChunk(
      process.stdout,
      `follow: ${result.passes} passes, lag ${output.lagSeconds} s at exit (highest ${output.maxLagSeconds} s)\n`,
    );
  }
  if (refusal) return 1;
  if (result.interrupted) return 130;
  return result.failed > 0 ? 1 : 0;
}
