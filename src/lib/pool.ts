/**
 * The in-process scheduler: runs copy tasks with at most `limit` at once, and a bounded
 * backlog so the producer (database reader) waits instead of piling tasks up in memory.
 *
 * Concurrency adapts to throttling (AIMD): a throttled request halves the limit (at most once
 * per second), and each run of `limit` successes without throttling adds one back, up to the
 * configured maximum.
 *
 * With `autoMax` (concurrency = auto) the pool also finds its own limit: it measures completed
 * tasks per second over windows of at least WINDOW_MS and two completions per slot (about two
 * task durations, so a window is as long as the copies are slow: short at 20 ms, longer at
 * 100 ms), and while the pool is full (tasks wait for a slot) and each raise paid (≥ 5 % more
 * per second), raises the limit — doubling while the gain is large, then by a quarter — up to
 * `autoMax`. After a change it only waits until the tasks running at the change are done (as
 * many completions as there were) before it measures the new limit. A raise that
 * did not pay is taken back to the best limit seen, which is then held; a later window probes
 * once more. Throttling halves the limit as above, and the climb starts again from there.
 */
import { Semaphore } from './semaphore.ts';

export interface PoolOptions {
  /** The limit; with autoMax, the limit to start from. */
  concurrency: number;
  /** Tasks queued beyond those running before submit() waits. */
  backlog: number;
  /** concurrency = auto: the highest limit the pool may choose. */
  autoMax?: number;
  /** The auto limit's shortest measuring window (default WINDOW_MS; tests shorten it). */
  windowMs?: number;
  /** concurrency = auto changed its limit (for logging; a throw is ignored). */
  onAutoLimit?: (change: AutoLimitChange) => void;
  now?: () => number;
}

/** A change of the auto limit: after a window that completed `rate` tasks/s, or a throttle's halving. */
export interface AutoLimitChange {
  limit: number;
  rate?: number;
  throttled?: boolean;
}

/** The shortest window over which the auto limit measures tasks per second. */
export const WINDOW_MS = 250;
/** A window also lasts until this many tasks per slot completed: about two task durations. */
const COMPLETIONS_PER_SLOT = 2;
/** A raise must bring this much more per second to be kept. */
const GAIN_TO_KEEP = 1.05;
/** At least this much more: the next raise doubles the limit. */
const GAIN_TO_DOUBLE = 1.25;
/** Windows a found limit is held before one more probe. */
const HOLD_WINDOWS = 8;

/** The auto limit's measurements: the current window, and the best limit found so far. */
interface AutoState {
  windowStart: number;
  completions: number;
  /** A task waited for a slot during this window: the limit, not the producer, held it back. */
  full: boolean;
  previousRate: number;
  best: { limit: number; rate: number };
  holding: number;
  /**
   * The limit just changed while this many tasks ran: until as many completed, the rate mixes
   * old and new, so it is not measured. 0: measuring.
   */
  settlingFrom: number;
}

export class AdaptivePool {
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private waitingForRoom: Array<() => void> = [];
  private queued = 0;
  private successStreak = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly auto: AutoState | null;

  constructor(private readonly options: PoolOptions) {
    this.slots = new Semaphore(options.concurrency);
    this.now = options.now ?? Date.now;
    this.auto = options.autoMax
      ? {
          windowStart: this.now(),
          completions: 0,
          full: false,
          previousRate: 0,
          best: { limit: options.concurrency, rate: 0 },
          holding: 0,
          settlingFrom: 0,
        }
      : null;
  }

  /** True when the pool chooses its own limit (concurrency = auto). */
  get autoTuned(): boolean {
    return this.auto !== null;
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
    if (this.auto && this.slots.inUse >= this.slots.capacity) this.auto.full = true;
    const run = this.slots
      .run(task)
      .catch(() => {}) // tasks report their own failures
      .finally(() => {
        this.queued--;
        if (this.auto) this.measure(this.auto);
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

  throttled(now = this.now()): void {
    this.successStreak = 0;
    if (now - this.lastDecrease < 1000) return;
    this.lastDecrease = now;
    const running = this.slots.inUse;
    this.slots.setLimit(Math.max(1, Math.floor(this.slots.capacity / 2)));
    if (this.auto) {
      // Climb again from the halved limit, against what it brings now, once the copies
      // started before the halving are done.
      this.auto.best = { limit: this.slots.capacity, rate: 0 };
      this.auto.previousRate = 0;
      this.auto.holding = HOLD_WINDOWS;
      this.startWindow(this.auto, now);
      this.auto.settlingFrom = running;
      this.tell({ limit: this.slots.capacity, throttled: true });
    }
  }

  private startWindow(auto: AutoState, now: number): void {
    auto.windowStart = now;
    auto.completions = 0;
    auto.full = this.slots.inUse >= this.slots.capacity;
  }

  /** One task ended: at the end of a window, decide the auto limit from its tasks per second. */
  private measure(auto: AutoState): void {
    auto.completions++;
    const now = this.now();
    if (auto.settlingFrom > 0) {
      // The tasks started under the old limit are done: measure the new one afresh.
      if (auto.completions >= auto.settlingFrom) {
        auto.settlingFrom = 0;
        this.startWindow(auto, now);
      }
      return;
    }
    const limit = this.slots.capacity;
    const elapsed = now - auto.windowStart;
    if (elapsed < (this.options.windowMs ?? WINDOW_MS) || auto.completions < COMPLETIONS_PER_SLOT * limit)
      return;
    const rate = (auto.completions * 1000) / elapsed;
    if (rate > auto.best.rate) auto.best = { limit, rate };
    const next = this.nextLimit(auto, rate, limit);
    auto.previousRate = rate;
    this.startWindow(auto, now);
    if (next !== limit) {
      // Until the copies running now (started under the old limit) are done.
      auto.settlingFrom = this.slots.inUse;
      this.slots.setLimit(next);
      this.tell({ limit: next, rate });
    }
  }

  private tell(change: AutoLimitChange): void {
    try {
      this.options.onAutoLimit?.(change);
    } catch {
      // Only a log line: the pool's bookkeeping must go on.
    }
  }

  /** The auto limit after a window at `limit` that completed `rate` tasks per second. */
  private nextLimit(auto: AutoState, rate: number, limit: number): number {
    const max = this.options.autoMax!;
    if (auto.holding > 0) {
      // Held at a limit found good; at the end, probe a quarter more (conditions change).
      return --auto.holding === 0 && auto.full ? Math.min(max, Math.ceil(limit * 1.25)) : limit;
    }
    // The producer, not the limit, set the pace: a higher limit would change nothing.
    if (!auto.full) return limit;
    if (auto.previousRate === 0 || rate >= auto.previousRate * GAIN_TO_KEEP) {
      const gain = auto.previousRate === 0 ? Number.POSITIVE_INFINITY : rate / auto.previousRate;
      return Math.min(max, gain >= GAIN_TO_DOUBLE ? limit * 2 : Math.ceil(limit * 1.25));
    }
    // The last raise did not pay: back to the best limit seen, held for a while.
    auto.holding = HOLD_WINDOWS;
    return auto.best.limit;
  }

  succeeded(): void {
    if (this.auto) return; // the auto limit recovers by measuring, not by counting successes
    if (this.slots.capacity >= this.options.concurrency) return;
    if (++this.successStreak >= this.slots.capacity) {
      this.successStreak = 0;
      this.slots.setLimit(this.slots.capacity + 1);
    }
  }
}
