/**
 * How many batches a worker takes at once. A worker that takes more than it can copy soon holds
 * them (locked, so no other worker can) while it works through them one after another: at the
 * end of a run one worker still copies a backlog of batches while the others sit idle. A
 * worker that takes too few leaves its copy slots empty while the next batch is fetched and
 * looked up (two listings, at WAN latency 100–200 ms and more).
 *
 * So the rule counts keys, not batches: a worker takes another batch (from any table) only
 * while the keys it holds that are not done yet are fewer than `lookaheadKeys` — four rounds
 * of its copy slots, the copier's own backlog. Small batches are taken several at a time,
 * large ones one at a time, each the moment the one before is nearly done, so its lookups
 * overlap that batch's last copies. Per table at most `MAX_BATCHES_PER_TABLE` are fetched at
 * once (BullMQ fetches that many before the first one starts).
 */
import type { Worker } from 'bullmq';

/** BullMQ's per-table concurrency: the most batches of one table a worker holds at once. */
export const MAX_BATCHES_PER_TABLE = 2;
/** How often the held keys are compared with the lookahead while copies end. */
export const INTAKE_CHECK_MS = 100;

/** Keys a worker keeps ahead of its copies: four rounds of its `concurrency` copy slots. */
export function lookaheadKeys(concurrency: number): number {
  return Math.max(1, concurrency) * 4;
}

export interface HeldBatch {
  /** Keys of the batch. */
  keys: number;
  /** Of those, how many are done (copied, skipped, missing, failed, or interrupted). */
  done: number;
}

/** Keys of the held batches that are not done yet. */
export function keysAhead(held: Iterable<HeldBatch>): number {
  let ahead = 0;
  for (const batch of held) ahead += Math.max(0, batch.keys - batch.done);
  return ahead;
}

/** Whether a worker holding `held` takes another batch. */
export function wantsMoreBatches(held: Iterable<HeldBatch>, concurrency: number): boolean {
  return keysAhead(held) < lookaheadKeys(concurrency);
}

/**
 * Pauses and resumes a worker's BullMQ workers (one per table) by `wantsMoreBatches`. A pause
 * only stops fetching: batches in progress go on, their locks are still extended, and a resume
 * restarts BullMQ's stalled-job check as well.
 */
export class Intake {
  private paused = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly workers: readonly Pick<Worker, 'pause' | 'resume'>[],
    private readonly held: () => Iterable<HeldBatch>,
    private readonly concurrency: number,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), INTAKE_CHECK_MS);
    this.timer.unref();
  }

  /** Compares what is held with the lookahead now (call when a batch starts or ends). */
  check(): void {
    if (this.closed) return;
    const more = wantsMoreBatches(this.held(), this.concurrency);
    if (more && this.paused) {
      this.paused = false;
      for (const w of this.workers) void w.resume().catch((e: Error) => this.onError(e));
    } else if (!more && !this.paused) {
      this.paused = true;
      for (const w of this.workers) void w.pause(true).catch((e: Error) => this.onError(e));
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
