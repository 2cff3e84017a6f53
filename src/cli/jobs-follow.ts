/**
 * `jobs --follow [TYPE...]`: `sync --follow` for many workers. Each pass queues what changed
 * as batches (src/queue/follow-pass.ts) and waits until the workers finished them before it
 * moves the positions in the state file; the lag goes to Redis, where `status` and the
 * dashboard show it. The first SIGTERM / Ctrl-C lets the current pass finish; the second stops
 * waiting for it (its batches stay queued for the workers; the next run reads its rows again).
 */
import { storeConfig } from '../config/stores.ts';
import { ConfigError } from '../errors.ts';
import { runDistributedPass } from '../queue/follow-pass.ts';
import type { FollowBeat, SharedProgress } from '../queue/progress.ts';
import { type FollowResult, follow } from '../run/follow.ts';
import { parseTypes } from '../run/tables.ts';
import type { Cleanup, CommandContext } from './context.ts';
import {
  type FollowFlags,
  followerDeps,
  followerSettings,
  followProblem,
  prepareFollower,
  startPositions,
  tenths,
} from './follow.ts';
import { openDatabase, type ReadFlags } from './open-database.ts';
import { writeChunk } from './output.ts';
import { openQueueEnvironment } from './queue.ts';
import type { Interrupts } from './sync.ts';

export interface JobsFollowOptions extends ReadFlags, FollowFlags {
  since?: string;
  json?: boolean;
  retryFailed?: boolean;
  again?: boolean;
}

/** How often the live status is written to Redis, and how long it outlives a dead process. */
const BEACON_MS = 1000;
const BEACON_TTL_MS = 10_000;

/**
 * The live status in Redis. While a pass' batches are still running, the lag is at least the
 * time since the pass started (its changes may not be copied yet).
 */
class FollowBeacon {
  private readonly state = { pass: 0, lagSeconds: 0, pendingBatches: 0, passStartedAt: Date.now() };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly progress: SharedProgress) {
    this.timer = setInterval(() => void this.publish(), BEACON_MS);
    this.timer.unref();
  }

  update(change: Partial<FollowBeacon['state']>): void {
    Object.assign(this.state, change);
    void this.publish();
  }

  current(): FollowBeat {
    const now = Date.now();
    const running = this.state.pendingBatches > 0 ? (now - this.state.passStartedAt) / 1000 : 0;
    const lagSeconds = tenths(Math.max(this.state.lagSeconds, running));
    return { ...this.state, lagSeconds, at: now };
  }

  private async publish(): Promise<void> {
    await this.progress.publishFollow(this.current(), BEACON_TTL_MS).catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.progress.forgetFollow().catch(() => {});
  }
}

export async function runJobsFollowCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: JobsFollowOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types); // usage errors before connecting anywhere
  const problem = followProblem(options)?.replace('--follow', 'jobs --follow');
  if (problem) throw new ConfigError(problem);
  if (!options.follow)
    throw new ConfigError('--since goes with jobs --follow (or with sync, in one process)');
  if (options.retryFailed || options.again) {
    throw new ConfigError(
      'jobs --follow cannot be combined with --retry-failed or --again: run those on their own',
    );
  }
  const plan = prepareFollower(
    ctx,
    options,
    cleanup,
    interrupts,
    'jobs --follow',
    "finishing this pass (the workers' batches), then stopping (again to stop waiting)",
  );

  const env = await openQueueEnvironment(ctx, cleanup, 'jobs-follow');
  // Keys are logical (each store applies its own key_prefix); [s3.destination] decides the ACL.
  const acl = storeConfig(ctx.file, 'destination').acl;
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup);
  const start = startPositions(options.since, tables, plan.state);
  const beacon = new FollowBeacon(env.progress);
  cleanup.add(() => beacon.close());
  ctx.log.info(
    {
      redis: env.settings.redisDescription,
      tables,
      intervalSeconds: plan.intervalMs / 1000,
      bulk: tables.filter((t) => !start.has(t)),
      from: Object.fromEntries([...start].map(([t, d]) => [t, d.toISOString()])),
      ...(plan.untilMs !== undefined ? { until: new Date(plan.untilMs).toISOString() } : {}),
    },
    'jobs --follow starting: each pass is queued for the workers',
  );

  const totals = { copied: 0, skipped: 0, missing: 0, failed: 0 };
  const result: FollowResult = await follow(
    {
      ...followerDeps(ctx, db, plan, options.json, (status) => {
        beacon.update({ lagSeconds: status.lagSeconds, pendingBatches: 0 });
      }),
      runPass: async (since, passNumber) => {
        beacon.update({ pass: passNumber, passStartedAt: Date.now(), pendingBatches: 0 });
        const outcome = await runDistributedPass(
          {
            db,
            queues: env.queues,
            progress: env.progress,
            log: ctx.log,
            abort: interrupts.abort.signal,
            onPending: (batches) => beacon.update({ pendingBatches: batches }),
          },
          {
            tables,
            columns,
            read,
            catalog: { keyPrefix: '', acl, rules: mastodon.rules },
            queue: env.settings,
          },
          since,
        );
        for (const field of ['copied', 'skipped', 'missing', 'failed'] as const)
          totals[field] += outcome[field];
        return outcome;
      },
    },
    followerSettings(tables, start, plan, interrupts.stop.signal),
  );

  const summary = {
    ...totals,
    passes: result.passes,
    lagSeconds: tenths(result.lagSeconds),
    maxLagSeconds: tenths(result.maxLagSeconds),
  };
  await writeChunk(
    process.stdout,
    options.json
      ? `${JSON.stringify(summary)}\n`
      : `jobs --follow: ${summary.passes} passes; copied ${summary.copied}, skipped ${summary.skipped}, missing ${summary.missing}, failed ${summary.failed}; lag ${summary.lagSeconds} s at exit (highest ${summary.maxLagSeconds} s)\n`,
  );
  if (result.interrupted) return 130;
  return result.failed > 0 ? 1 : 0;
}
