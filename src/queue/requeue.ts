/**
 * `jobs --retry-failed`: a failed job lists exactly the keys that failed; they are queued again
 * as a new job (`<id>-retry<n>`) and uncounted from the failed counter, and the old job is
 * removed. A job that failed before counting anything (no failures listed) runs again whole.
 */
import type { Logger } from '../log.ts';
import type { TableName } from '../mastodon/types.ts';
import type { BatchJobData } from './job.ts';
import type { SharedProgress } from './progress.ts';
import { type BatchQueue, JOB_NAME, jobOptions } from './queues.ts';
import type { QueueSettings } from './settings.ts';

/** Requeues exactly the keys that failed, or whole batches that never finished; returns the jobs queued. */
export async function requeueFailed(
  env: { queues: ReadonlyMap<TableName, BatchQueue>; progress: SharedProgress; settings: QueueSettings },
  tables: readonly TableName[],
  log: Logger,
): Promise<number> {
  let requeued = 0;
  for (const table of tables) {
    const queue = env.queues.get(table)!;
    const failed = await queue.getFailed(0, -1);
    for (const job of failed) {
      const data = job.data as BatchJobData;
      if (!data.failures || data.failures.length === 0) {
        await job.retry('failed'); // never counted: the whole batch runs again
        requeued++;
        continue;
      }
      const failedKeys = new Set(data.failures.map((f) => f.key));
      const retry = (data.retry ?? 0) + 1;
      const id = `${job.id!.replace(/-retry\d+$/, '')}-retry${retry}`;
      const keys = data.keys.filter((k) => failedKeys.has(k.key));
      await queue.add(
        JOB_NAME,
        { table, firstId: data.firstId, lastId: data.lastId, rows: 0, keys, retry },
        jobOptions(env.settings, id),
      );
      // Only the one that removes the failed job takes its keys back from the failed count: a
      // second requeue at the same time (the dashboard and the CLI) adds the same job id (a
      // no-op) and fails to remove it.
      try {
        await job.remove();
      } catch {
        continue;
      }
      await env.progress.uncountFailed(table, keys.length);
      requeued++;
      log.info({ table, job: id, keys: keys.length }, 'requeued failed keys');
    }
  }
  return requeued;
}

/** `jobs --again`: counters and failed jobs of the tables forgotten, so every batch is queued anew. */
export async function forgetTables(
  env: { queues: ReadonlyMap<TableName, BatchQueue>; progress: SharedProgress },
  tables: readonly TableName[],
): Promise<void> {
  await env.progress.reset(tables);
  for (const table of tables) await env.queues.get(table)!.clean(0, 0, 'failed');
}
