/**
 * `jobs`: database rows → batches of catalog keys → BullMQ jobs, one queue per table.
 *
 * Backpressure: before each add the producer waits while the table's queue holds more than
 * `max_waiting` waiting jobs, so Redis holds at most about max_waiting × batch_size rows' keys
 * per table, however large the instance. Batches already queued (or counted) are not queued
 * again, so running `jobs` twice queues nothing new.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { estimateRows, type ReadOptions } from '../db/reader.ts';
import { sleep } from '../lib/retry.ts';
import type { Logger } from '../log.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogOptions, TableName } from '../mastodon/types.ts';
import { enumerateRun } from '../run/enumerate.ts';
import { batchJobId, toJobKey } from './job.ts';
import type { SharedProgress } from './progress.ts';
import { type BatchQueue, JOB_NAME, jobOptions } from './queues.ts';
import type { QueueSettings } from './settings.ts';

export interface EnqueueSettings {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  queue: QueueSettings;
}

export interface EnqueueDeps {
  db: MastodonDatabase;
  queues: ReadonlyMap<TableName, BatchQueue>;
  progress: SharedProgress;
  log: Logger;
  stop: AbortSignal;
}

export interface EnqueueSummary {
  table: TableName;
  jobs: number;
  rows: number;
  keys: number;
  /** Batches found already queued or done (not queued again). */
  alreadyQueued: number;
}

const BACKPRESSURE_POLL_MS = 250;

async function waitForRoom(queue: BatchQueue, maxWaiting: number, stop: AbortSignal): Promise<void> {
  while (!stop.aborted && (await queue.getWaitingCount()) >= maxWaiting) {
    await sleep(BACKPRESSURE_POLL_MS, stop).catch(() => {});
  }
}

export async function enqueueTables(deps: EnqueueDeps, settings: EnqueueSettings): Promise<EnqueueSummary[]> {
  const { db, queues, progress, log, stop } = deps;
  const read: ReadOptions = { ...settings.read, batchSize: settings.queue.batchSize };
  const byTable = new Map<TableName, EnqueueSummary>();
  for (const table of settings.tables) {
    byTable.set(table, { table, jobs: 0, rows: 0, keys: 0, alreadyQueued: 0 });
    await progress.setRowsTotal(table, await estimateRows(db, table, read, settings.columns.get(table)));
  }
  const finished = (table: TableName) => log.info({ ...byTable.get(table)! }, `queued ${table}`);
  let current: TableName | null = null;
  for await (const batch of enumerateRun(db, { ...settings, read })) {
    if (stop.aborted) break;
    if (batch.table !== current) {
      if (current) finished(current);
      current = batch.table;
    }
    const summary = byTable.get(batch.table)!;
    const jobId = batchJobId(batch.firstId, batch.lastId);
    if ((await progress.isQueued(batch.table, jobId)) || (await progress.isDone(batch.table, jobId))) {
      summary.alreadyQueued++;
      continue;
    }
    const queue = queues.get(batch.table)!;
    await waitForRoom(queue, settings.queue.maxWaiting, stop);
    if (stop.aborted) break;
    const keys = batch.keys.map((item) => toJobKey(item, alternateKey(item, batch.columns)));
    await queue.add(
      JOB_NAME,
      { table: batch.table, firstId: batch.firstId, lastId: batch.lastId, rows: batch.rows, keys },
      jobOptions(settings.queue, jobId),
    );
    // Counted after the add: a crash in between re-adds the same id next time (a no-op).
    await progress.markQueued(batch.table, jobId, batch.rows, keys.length);
    summary.jobs++;
    summary.rows += batch.rows;
    summary.keys += keys.length;
  }
  if (current) finished(current);
  const summaries = [...byTable.values()];
  return summaries;
}
