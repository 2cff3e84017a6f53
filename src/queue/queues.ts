/**
 * One BullMQ queue per table, so each can be paused or inspected on its own. Options with
 * their defaults live here, in one place, as in BullMQ itself.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';
import type { BatchJobData, BatchJobResult } from './job.ts';
import type { QueueSettings } from './settings.ts';

export const JOB_NAME = 'copy-batch';
export type BatchQueue = Queue<BatchJobData, BatchJobResult, typeof JOB_NAME>;

/** Job options: retries with backoff; completed jobs removed (their counts are in Redis), failed kept. */
export function jobOptions(settings: QueueSettings, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: 5000 },
    removeOnComplete: true,
    removeOnFail: false,
  };
}

export function openQueue(table: TableName, connection: Redis, settings: QueueSettings): BatchQueue {
  return new Queue(table, { connection, prefix: settings.prefix }) as BatchQueue;
}

export function openQueues(connection: Redis, settings: QueueSettings): Map<TableName, BatchQueue> {
  return new Map(TABLE_NAMES.map((t) => [t, openQueue(t, connection, settings)]));
}

export async function closeQueues(queues: Iterable<BatchQueue>): Promise<void> {
  await Promise.all([...queues].map((q) => q.close().catch(() => {})));
}
