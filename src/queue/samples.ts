/**
 * The throughput chart's memory: every `[dashboard] sample_seconds` (10) the dashboard stores
 * one sample of the run's totals in Redis (`<prefix>:samples`, a list trimmed to one hour), so a
 * restarted dashboard — or a second one — still shows the last hour. With several dashboards on
 * one prefix, a short lock lets one of them write each sample.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { Overview } from './overview.ts';
import type { ProgressKeys } from './progress.ts';

export interface ThroughputSample {
  at: number;
  /** Keys done (copied + skipped + missing + failed) and bytes copied, all tables. */
  done: number;
  bytes: number;
  /** Keys still expected (for the ETA). */
  remaining: number;
  tables: Record<string, { done: number; bytes: number }>;
}

/** The chart's window. */
export const SAMPLE_WINDOW_SECONDS = 3600;

export function sampleOf(overview: Overview): ThroughputSample {
  const tables: ThroughputSample['tables'] = {};
  for (const t of overview.tables) tables[t.table] = { done: t.done, bytes: t.bytes };
  return {
    at: overview.at,
    done: overview.totals.done,
    bytes: overview.totals.bytes,
    remaining: Math.max(0, overview.totals.keysExpected - overview.totals.done),
    tables,
  };
}

export class ThroughputSamples {
  private timer: NodeJS.Timeout | null = null;
  private readonly key: string;
  private readonly lock: string;
  private readonly kept: number;

  constructor(
    private readonly redis: Redis,
    keys: ProgressKeys,
    private readonly intervalMs: number,
  ) {
    this.key = keys.samples;
    this.lock = `${keys.samples}:lock`;
    this.kept = Math.ceil((SAMPLE_WINDOW_SECONDS * 1000) / intervalMs) + 1;
  }

  /** Samples `read()` every interval until stop(). */
  start(read: () => Promise<Overview>, log: Logger): void {
    const tick = async () => {
      try {
        // One writer per interval, whichever dashboard gets the lock.
        if ((await this.redis.set(this.lock, '1', 'PX', Math.max(1, this.intervalMs - 200), 'NX')) !== 'OK')
          return;
        await this.add(sampleOf(await read()));
      } catch (error) {
        log.debug({ err: (error as Error).message }, 'throughput sample skipped');
      }
    };
    this.timer = setInterval(() => void tick(), this.intervalMs);
    this.timer.unref();
    void tick();
  }

  async add(sample: ThroughputSample): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.key, JSON.stringify(sample))
      .ltrim(this.key, 0, this.kept - 1)
      .exec();
  }

  /** The samples of the last hour, oldest first. */
  async list(): Promise<ThroughputSample[]> {
    const raw = await this.redis.lrange(this.key, 0, this.kept - 1);
    const since = Date.now() - SAMPLE_WINDOW_SECONDS * 1000;
    return raw
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as ThroughputSample];
        } catch {
          return [];
        }
      })
      .filter((s) => s.at >= since)
      .reverse();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
