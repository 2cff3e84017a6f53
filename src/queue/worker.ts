/**
 * `worker`: takes batches from every table's queue and copies them with the same batch copier
 * as `sync`. Any number of workers on any number of machines share one Redis.
 *
 * - A worker killed mid-batch loses nothing: BullMQ's stalled-job check gives the batch to
 *   another worker after `lock_seconds`, and what was already copied is skipped (one listing).
 * - A batch with failed keys is retried with backoff (`attempts`); on its last attempt it ends
 *   failed, its data listing exactly which keys failed and why (`jobs --retry-failed`).
 * - Its outcome is counted once, atomically, when it ends (see progress.ts); meanwhile the
 *   live counts travel in the worker's heartbeat.
 * - It takes batches only as fast as it copies them (intake.ts): it holds a few rounds of copies
 *   ahead, never a backlog other workers could have shared.
 */
import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';
import { type BatchCopier, type BatchTally, emptyTally } from '../run/copier.ts';
import { outcomesOf } from '../transfer/outcomes.ts';
import type { Stats } from '../transfer/stats.ts';
import { type HeldBatch, Intake, MAX_BATCHES_PER_TABLE } from './intake.ts';
import type { BatchJobData, BatchJobResult } from './job.ts';
import { fromJobKey } from './job.ts';
import {
  type Counters,
  type ProblemEntry,
  type RequestTotals,
  requestTotalsFields,
  type SharedProgress,
} from './progress.ts';
import type { QueueSettings } from './settings.ts';

const HEARTBEAT_MS = 1000;

export interface WorkerDeps {
  connection: Redis;
  copier: BatchCopier;
  progress: SharedProgress;
  log: Logger;
  settings: QueueSettings;
  tables?: readonly TableName[];
  /** Objects the copier copies at once (`--concurrency`); default `settings.concurrency`. */
  concurrency?: number;
  /** The copier's stats: requests, retries and copies in flight go to Redis with each heartbeat. */
  stats?: Stats;
}

interface ActiveBatch {
  table: TableName;
  /** Keys of the batch (the tally knows them only once its lookups are done). */
  keys: number;
  tally: BatchTally;
}

/** How many of a batch's keys are done so far. */
function doneOf(tally: BatchTally): number {
  return tally.copied + tally.skipped + tally.missing + tally.failed + tally.interrupted;
}

const countersOf = (tally: BatchTally): Counters => outcomesOf(tally);

export class QueueWorker {
  readonly id = `${hostname()}-${process.pid}-${Date.now().toString(36)}`;
  private readonly workers: Worker<BatchJobData, BatchJobResult>[] = [];
  private readonly active = new Map<string, ActiveBatch>();
  private readonly startedAt = Date.now();
  private heartbeat: NodeJS.Timeout | null = null;
  private intake: Intake | null = null;
  /** The request totals already added to Redis (each heartbeat adds what changed since). */
  private reported: Record<string, number> = {};
  batchesDone = 0;

  constructor(private readonly deps: WorkerDeps) {}

  start(): void {
    const { connection, settings, log } = this.deps;
    for (const table of this.deps.tables ?? TABLE_NAMES) {
      const worker = new Worker<BatchJobData, BatchJobResult>(table, (job) => this.process(job), {
        connection,
        prefix: settings.prefix,
        concurrency: MAX_BATCHES_PER_TABLE,
        lockDuration: settings.lockMs,
        stalledInterval: settings.lockMs,
        // A batch may be interrupted by several killed workers before one finishes it.
        maxStalledCount: 10,
      });
      worker.on('failed', (job, error) => {
        if (job) log.warn({ table, job: job.id, err: error.message }, 'batch failed');
      });
      worker.on('error', (error) => log.warn({ table, err: error.message }, 'queue connection problem'));
      this.workers.push(worker);
    }
    this.intake = new Intake(
      this.workers,
      () => this.held(),
      this.deps.concurrency ?? settings.concurrency,
      (error) => log.warn({ err: error.message }, 'queue connection problem'),
    );
    this.intake.start();
    this.heartbeat = setInterval(() => void this.beat().catch(() => {}), HEARTBEAT_MS);
    void this.beat().catch(() => {});
  }

  /** The batches in progress, as the intake counts them. */
  private *held(): Iterable<HeldBatch> {
    for (const { keys, tally } of this.active.values()) yield { keys, done: doneOf(tally) };
  }

  /** Adds this worker's requests since the last heartbeat to the shared totals. */
  private async reportRequests(): Promise<void> {
    const stats = this.deps.stats;
    if (!stats) return;
    const now = requestTotalsFields({
      requests: stats.requestsByStore,
      retries: stats.retries,
      throttled: stats.throttled,
    } as RequestTotals);
    const before = this.reported;
    const delta = Object.fromEntries(Object.entries(now).map(([f, n]) => [f, n - (before[f] ?? 0)]));
    // Taken as reported before the write, so no other report sends the same increments again;
    // given back if the write fails, so the next one sends them.
    this.reported = now;
    try {
      await this.deps.progress.addRequestTotals(delta);
    } catch (error) {
      this.reported = before;
      throw error;
    }
  }

  /** One heartbeat at a time: while Redis is slow or away, the timer's beats are skipped. */
  private beating = false;

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.sendBeat();
    } finally {
      this.beating = false;
    }
  }

  private async sendBeat(): Promise<void> {
    await this.reportRequests();
    const partial = [...this.active].map(([jobId, { table, tally }]) => ({
      table,
      jobId,
      counters: countersOf(tally),
    }));
    await this.deps.progress.beat(
      {
        id: this.id,
        host: hostname(),
        pid: process.pid,
        concurrency: this.deps.settings.concurrency,
        startedAt: this.startedAt,
        activeJobs: this.active.size,
        inFlight: this.deps.stats?.inFlight ?? 0,
        partial,
      },
      HEARTBEAT_MS * 5,
    );
  }

  private async process(job: Job<BatchJobData, BatchJobResult>): Promise<BatchJobResult> {
    const { copier } = this.deps;
    const data = job.data;
    const jobId = job.id!;
    const alternates = new Map(data.keys.flatMap((k) => (k.alt ? [[k.key, k.alt] as const] : [])));
    const items = data.keys.map((k) => fromJobKey(data.table, k));
    const live: ActiveBatch = { table: data.table, keys: items.length, tally: emptyTally() };
    this.active.set(jobId, live);
    this.intake?.check();
    try {
      const submitted = await copier.submitBatch(items, (item) => alternates.get(item.key) ?? null);
      live.tally = submitted.tally; // updated as copies end: the heartbeat shows it
      return await this.finish(job, await submitted.finished);
    } finally {
      // Only now: until the batch is committed, the heartbeat carries its counts (the
      // overview drops them once the batch id is in the done set).
      this.active.delete(jobId);
      this.intake?.check();
    }
  }

  /** Counts a finished batch once, or fails it so BullMQ retries it (or ends it failed). */
  private async finish(job: Job<BatchJobData, BatchJobResult>, tally: BatchTally): Promise<BatchJobResult> {
    const { progress, log } = this.deps;
    const data = job.data;
    if (tally.interrupted > 0) throw new Error(`interrupted with ${tally.interrupted} keys not done`);

    // Objects an earlier attempt copied are skipped now: count them as copied, once.
    const carried = data.carried ?? { copied: 0, bytes: 0 };
    const movedBack = Math.min(carried.copied, tally.skipped);
    const counters: Counters = {
      ...countersOf(tally),
      copied: tally.copied + movedBack,
      skipped: tally.skipped - movedBack,
      bytes: tally.bytes + carried.bytes,
    };
    const failures = tally.problems.filter((p) => p.status === 'failed');
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (failures.length > 0 && !lastAttempt) {
      await job.updateData({ ...data, carried: { copied: counters.copied, bytes: counters.bytes } });
      throw new Error(
        `${failures.length} of ${tally.keys} keys failed, retrying the batch (first: ${failures[0]!.key}: ${failures[0]!.reason})`,
      );
    }
    const now = Date.now();
    const problems: ProblemEntry[] = tally.problems.map((p) => ({ at: now, table: data.table, ...p }));
    await progress.commit(data.table, job.id!, data.rows, counters, problems, data.pass);
    this.batchesDone++;
    if (failures.length > 0) {
      await job.updateData({
        ...data,
        failures: failures.map(({ key, reason }) => ({ key, reason })),
      });
      throw new Error(
        `${failures.length} of ${tally.keys} keys failed after ${job.attemptsMade + 1} attempts (first: ${failures[0]!.key}: ${failures[0]!.reason})`,
      );
    }
    log.debug({ table: data.table, job: job.id, ...counters }, 'batch done');
    return counters;
  }

  /** Stops taking batches; waits for those in progress to finish (SIGTERM). */
  async close(): Promise<void> {
    this.intake?.stop();
    await Promise.all(this.workers.map((w) => w.close()));
    if (this.heartbeat) clearInterval(this.heartbeat);
    // The last report waits for a heartbeat under way (at most 2 s: Redis may be gone).
    for (let i = 0; this.beating && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.reportRequests().catch(() => {});
    await this.deps.progress.forget(this.id).catch(() => {});
  }
}
