/**
 * One read of the whole distributed run, for the dashboard and `status`: per table, what was
 * queued, what is done (committed batches plus the live counts in worker heartbeats), the
 * queue's job counts, rates over the last half minute, an ETA; the workers; the latest problems.
 */
import { TABLE_NAMES } from '../mastodon/types.ts';
import {
  COUNTER_FIELDS,
  type Counters,
  type FollowBeat,
  type ProblemEntry,
  type RequestTotals,
  type SharedProgress,
  type TableProgress,
  type WorkerBeat,
} from './progress.ts';
import type { BatchQueue } from './queues.ts';

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface TableOverview extends TableProgress {
  table: string;
  /** copied + skipped + missing + failed. */
  done: number;
  /** Keys expected in all (extrapolated from rows while the producer is still queueing). */
  keysExpected: number;
  percent: number;
  objectsPerSecond: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  jobs: JobCounts;
  /** The table's queue is paused (workers take none of its jobs). */
  paused: boolean;
}

export interface Overview {
  at: number;
  tables: TableOverview[];
  totals: Omit<TableOverview, 'table' | 'startedAt' | 'updatedAt' | 'paused'>;
  workers: Array<Omit<WorkerBeat, 'partial'>>;
  problems: ProblemEntry[];
  /** `jobs --follow`'s live status (its lag), or null when none runs. */
  follow: FollowBeat | null;
  /** What the workers sent: requests by store and kind, retries, throttled answers (as of their last heartbeat). */
  requests: RequestTotals['requests'];
  retries: number;
  throttled: number;
  /** Copies in progress on all workers now. */
  inFlight: number;
}

interface Sample {
  at: number;
  done: number;
  bytes: number;
}

const RATE_WINDOW_MS = 30_000;

function addCounters(into: Counters, from: Counters): void {
  for (const field of COUNTER_FIELDS) into[field] += from[field];
}

export class OverviewReader {
  private readonly samples = new Map<string, Sample[]>();

  constructor(
    private readonly progress: SharedProgress,
    private readonly queues: ReadonlyMap<string, BatchQueue>,
  ) {}

  private rates(table: string, now: number, p: TableOverview): { objects: number; bytes: number } {
    const list = this.samples.get(table) ?? [];
    list.push({ at: now, done: p.done, bytes: p.bytes });
    while (list.length > 2 && now - list[0]!.at > RATE_WINDOW_MS) list.shift();
    this.samples.set(table, list);
    const first = list[0]!;
    const seconds = (now - first.at) / 1000;
    if (list.length >= 2 && seconds >= 1) {
      return { objects: (p.done - first.done) / seconds, bytes: (p.bytes - first.bytes) / seconds };
    }
    // First look: the average since the first batch ended.
    if (p.startedAt && p.updatedAt && p.updatedAt > p.startedAt) {
      const elapsed = (p.updatedAt - p.startedAt) / 1000;
      return { objects: p.done / elapsed, bytes: p.bytes / elapsed };
    }
    return { objects: 0, bytes: 0 };
  }

  /**
   * The committed counters, plus the live counts of batches not committed yet, by table. A
   * batch counts once: a killed worker's last heartbeat lingers a few seconds while another
   * worker redoes its batch (the larger count wins), and the committed counters and the done
   * sets are read in one MULTI, so a batch committed meanwhile is either committed there or
   * live, never both and never neither.
   */
  private async countsWithLive(beats: readonly WorkerBeat[]): Promise<TableProgress[]> {
    const byBatch = new Map<string, { table: string; jobId: string; counters: Counters }>();
    const done = (c: Counters) => c.copied + c.skipped + c.missing + c.failed;
    for (const batch of beats.flatMap((b) => b.partial ?? [])) {
      const id = `${batch.table}/${batch.jobId}`;
      const seen = byBatch.get(id);
      if (!seen || done(batch.counters) > done(seen.counters)) byBatch.set(id, batch);
    }
    const batchesOf = new Map<string, Array<{ jobId: string; counters: Counters }>>();
    for (const batch of byBatch.values()) {
      const list = batchesOf.get(batch.table) ?? [];
      list.push(batch);
      batchesOf.set(batch.table, list);
    }
    const snapshot = await this.progress.committedSnapshot(
      TABLE_NAMES,
      new Map([...batchesOf].map(([table, list]) => [table, list.map((b) => b.jobId)])),
    );
    return TABLE_NAMES.map((table, index) => {
      const progress = snapshot.tables[index]!;
      const counted = snapshot.counted.get(table) ?? [];
      (batchesOf.get(table) ?? []).forEach((b, i) => {
        if (!counted[i]) addCounters(progress, b.counters);
      });
      return progress;
    });
  }

  private async jobCounts(table: string): Promise<{ jobs: JobCounts; paused: boolean }> {
    const queue = this.queues.get(table);
    if (!queue) return { jobs: { waiting: 0, active: 0, delayed: 0, failed: 0 }, paused: false };
    const [c, paused] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
      queue.isPaused(),
    ]);
    const jobs = {
      waiting: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0),
      active: c['active'] ?? 0,
      delayed: c['delayed'] ?? 0,
      failed: c['failed'] ?? 0,
    };
    return { jobs, paused };
  }

  async read(): Promise<Overview> {
    const now = Date.now();
    const [beats, problems, follow, requestTotals] = await Promise.all([
      this.progress.workers(),
      this.progress.problems(20),
      this.progress.follow(),
      this.progress.requestTotals(),
    ]);
    // Job counts first: once they show nothing active, every commit came before the counters'
    // snapshot, so the totals are exact.
    const queues = await Promise.all(TABLE_NAMES.map((table) => this.jobCounts(table)));
    const committed = await this.countsWithLive(beats);
    const tables: TableOverview[] = [];
    for (const [index, table] of TABLE_NAMES.entries()) {
      const progress = committed[index]!;
      const { jobs, paused } = queues[index]!;
      if (progress.rowsTotal === 0 && progress.jobsQueued === 0 && jobs.failed === 0) continue;
      const done = progress.copied + progress.skipped + progress.missing + progress.failed;
      const queueing = progress.rowsQueued < progress.rowsTotal && progress.rowsQueued > 0;
      const keysExpected = queueing
        ? Math.round((progress.keysQueued / progress.rowsQueued) * progress.rowsTotal)
        : progress.keysQueued;
      const overview: TableOverview = {
        table,
        ...progress,
        done,
        keysExpected,
        percent: keysExpected > 0 ? Math.min(100, (100 * done) / keysExpected) : 0,
        objectsPerSecond: 0,
        bytesPerSecond: 0,
        etaSeconds: null,
        jobs,
        paused,
      };
      const rate = this.rates(table, now, overview);
      overview.objectsPerSecond = rate.objects;
      overview.bytesPerSecond = rate.bytes;
      const remaining = Math.max(0, keysExpected - done);
      overview.etaSeconds = remaining === 0 ? 0 : rate.objects > 0 ? remaining / rate.objects : null;
      tables.push(overview);
    }
    return {
      at: now,
      tables,
      totals: sumTables(tables),
      workers: beats.map(({ partial: _partial, ...rest }) => rest),
      problems,
      follow,
      ...requestTotals,
      inFlight: beats.reduce((n, b) => n + (b.inFlight ?? 0), 0),
    };
  }
}

function sumTables(tables: readonly TableOverview[]): Overview['totals'] {
  const numeric = [
    'rowsTotal',
    'rowsQueued',
    'keysQueued',
    'jobsQueued',
    'rowsDone',
    'done',
    'keysExpected',
    'objectsPerSecond',
    'bytesPerSecond',
    ...COUNTER_FIELDS,
  ] as const;
  const totals = Object.fromEntries(numeric.map((f) => [f, 0])) as Record<(typeof numeric)[number], number>;
  const jobs: JobCounts = { waiting: 0, active: 0, delayed: 0, failed: 0 };
  for (const t of tables) {
    for (const f of numeric) totals[f] += t[f];
    for (const f of Object.keys(jobs) as Array<keyof JobCounts>) jobs[f] += t.jobs[f];
  }
  const remaining = Math.max(0, totals.keysExpected - totals.done);
  return {
    ...totals,
    percent: totals.keysExpected > 0 ? Math.min(100, (100 * totals.done) / totals.keysExpected) : 0,
    etaSeconds:
      remaining === 0 ? 0 : totals.objectsPerSecond > 0 ? remaining / totals.objectsPerSecond : null,
    jobs,
  };
}
