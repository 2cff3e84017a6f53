/**
 * What the dashboard's controls do to the distributed run, one table at a time: pause and
 * resume its queue (workers take none of its batches meanwhile; batches in progress finish),
 * requeue its failed batches (exactly `jobs --retry-failed`), and list its failed batches with
 * the keys that failed and why.
 */
import type { Logger } from '../log.ts';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';
import type { BatchJobData } from './job.ts';
import type { SharedProgress } from './progress.ts';
import type { BatchQueue } from './queues.ts';
import { requeueFailed } from './requeue.ts';
import type { QueueSettings } from './settings.ts';

export interface FailedBatch {
  id: string;
  firstId: string;
  lastId: string;
  /** Keys in the batch. */
  keys: number;
  /** The keys that failed, with their reasons (empty: the whole batch failed before counting). */
  failures: Array<{ key: string; reason: string }>;
  /** The last error of the job. */
  error: string;
  attempts: number;
  failedAt: number | null;
}

export type ControlAction = 'pause' | 'resume' | 'retry-failed';

export interface ControlResult {
  table: TableName;
  action: ControlAction;
  paused: boolean;
  /** retry-failed: the jobs queued again. */
  requeued?: number;
}

/** At most this many failed batches are listed per table (the newest first). */
export const FAILED_LISTED = 100;

export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

export class QueueControl {
  constructor(
    private readonly env: {
      queues: ReadonlyMap<TableName, BatchQueue>;
      progress: SharedProgress;
      settings: QueueSettings;
    },
    private readonly log: Logger,
  ) {}

  private queue(table: TableName): BatchQueue {
    return this.env.queues.get(table)!;
  }

  /** Actions of one table run one after the other (two operators clicking at once). */
  private readonly running = new Map<TableName, Promise<unknown>>();

  async run(table: TableName, action: ControlAction): Promise<ControlResult> {
    const previous = this.running.get(table) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.runNow(table, action));
    this.running.set(table, next);
    return next;
  }

  private async runNow(table: TableName, action: ControlAction): Promise<ControlResult> {
    const queue = this.queue(table);
    let requeued: number | undefined;
    if (action === 'pause') await queue.pause();
    else if (action === 'resume') await queue.resume();
    else requeued = await requeueFailed(this.env, [table], this.log);
    return { table, action, paused: await queue.isPaused(), ...(requeued === undefined ? {} : { requeued }) };
  }

  async failed(table: TableName): Promise<FailedBatch[]> {
    const jobs = await this.queue(table).getFailed(0, FAILED_LISTED - 1);
    return jobs.map((job) => {
      const data = job.data as BatchJobData;
      return {
        id: String(job.id),
        firstId: data.firstId,
        lastId: data.lastId,
        keys: data.keys.length,
        failures: (data.failures ?? []).map(({ key, reason }) => ({ key, reason })),
        error: job.failedReason ?? '',
        attempts: job.attemptsMade,
        failedAt: job.finishedOn ?? null,
      };
    });
  }
}
