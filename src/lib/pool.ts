/**
 * The in-process scheduler: runs copy tasks with at most `limit` at once, and a bounded
 * backlog so the producer (database reader) waits instead of piling tasks up in memory.
 *
 * Concurrency adapts to throttling (AIMD): a throttled request halves the limit (at most once
 * per second), and each run of `limit` successes without throttling adds one back, up to the
 * configured maximum.
 */
import { Semaphore } from './semaphore.ts';

export interface PoolOptions {
  concurrency: number;
  /** Tasks queued beyond those running before submit() waits. */
  backlog: number;
}

export class AdaptivePool {
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private waitingForRoom: Array<() => void> = [];
  private queued = 0;
  private successStreak = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PoolOptions) {
    this.slots = new Semaphore(options.concurrency);
  }

  /** The current concurrency limit. */
  get limit(): number {
    return this.slots.capacity;
  }

  get active(): number {
    return this.slots.inUse;
  }

  /**
   * Queues a task, waiting first while the backlog is full. Resolves once queued, with `done`:
   * the task's end (never rejects; tasks report their own failures).
   */
  async submit(task: () => Promise<void>): Promise<{ done: Promise<void> }> {
    while (this.queued >= this.options.backlog + this.slots.capacity) {
      await new Promise<void>((resolve) => this.waitingForRoom.push(resolve));
    }
    this.queued++;
    const run = this.slots
      .run(task)
      .catch(() => {}) // tasks report their own failures
      .finally(() => {
        this.queued--;
        this.running.delete(run);
        const waiters = this.waitingForRoom;
        this.waitingForRoom = [];
        for (const wake of waiters) wake();
      });
    this.running.add(run);
    return { done: run };
  }

  /** Waits for every submitted task to finish. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  throttled(now = Date.now()): void {
    this.successStreak = 0;
    if (now - this.lastDecrease < 1000) return;
    this.lastDecrease = now;
    this.slots.setLimit(Math.max(1, Math.floor(this.slots.capacity / 2)));
  }

  succeeded(): void {
    if (this.slots.capacity >= this.options.concurrency) return;
    if (++this.successStreak >= this.slots.capacity) {
      this.successStreak = 0;
      this.slots.setLimit(this.slots.capacity + 1);
    }
  }
}
