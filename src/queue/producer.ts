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
import { batchJobId, followBatchJobId, toJobKey } from './job.ts';
import type { SharedProgress } from './progress.ts';
import { type BatchQueue, JOB_NAME, jobOptions } from './queues.ts';
import type { QueueSettings } from './settings.ts';

export interface EnqueueSettings {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  queue: QueueSettings;
  /** A table's own read (a `jobs --follow` pass: rows changed since its position). */
  readFor?: (table: TableName) => ReadOptions;
  /** The `jobs --follow` pass queueing these batches (see FollowPassTag). */
  pass?: FollowPassTag;
}

/** How a `jobs --follow` pass marks its batches. */
export interface FollowPassTag {
  /** Scopes the batches' job ids (followBatchJobId) and is carried in each job, so workers add its counters to the pass's. */
  id: string;
  /** Tables read from a position: their row totals (of the bulk run) are kept, not re-counted. */
  delta: ReadonlySet<TableName>;
}

export interface EnqueueDeps {
  db: MastodonDatabase;
  queues: ReadonlyMap<TableName, BatchQueue>;
  progress: SharedProgress;
  log: Logger;
  stop: AbortSignal;
  /** Told of every batch of the run, queued now or before (a follow pass waits for each). */
  track?: (table: TableName, jobId: string, keys: number) => void;
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
  const batchSize = settings.queue.batchSize;
  const read: ReadOptions = { ...settings.read, batchSize };
  const readFor = settings.readFor;
  const pass = settings.pass;
  const byTable = new Map<TableName, EnqueueSummary>();
  for (const table of settings.tables) {
    byTable.set(table, { table, jobs: 0, rows: 0, keys: 0, alreadyQueued: 0 });
    // A delta read keeps the table's total (of its bulk run) and does not scan it twice.
    if (pass?.delta.has(table)) continue;
    await progress.setRowsTotal(table, await estimateRows(db, table, read, settings.columns.get(table)));
  }
  const plan = {
    ...settings,
    read,
    ...(readFor ? { readFor: (table: TableName) => ({ ...readFor(table), batchSize }) } : {}),
  };
  const finished = (table: TableName) => log.info({ ...byTable.get(table)! }, `queued ${table}`);
  let current: TableName | null = null;
  for await (const batch of enumerateRun(db, plan)) {
    if (stop.aborted) break;
    if (batch.table !== current) {
      if (current) finished(current);
      current = batch.table;
    }
    const summary = byTable.get(batch.table)!;
    const keys = batch.keys.map((item) => toJobKey(item, alternateKey(item, batch.columns)));
    const jobId = pass
      ? followBatchJobId(pass.id, batch.firstId, batch.lastId, keys)
      : batchJobId(batch.firstId, batch.lastId);
    // A follow pass waits for its batches however they were queued (this run, or the same pass
    // before a restart), and looks at how each one ended.
    const known =
      (await progress.isDone(batch.table, jobId)) || (await progress.isQueued(batch.table, jobId));
    if (known) {
      summary.alreadyQueued++;
      deps.track?.(batch.table, jobId, keys.length);
      continue;
    }
    const queue = queues.get(batch.table)!;
    await waitForRoom(queue, settings.queue.maxWaiting, stop);
    if (stop.aborted) break;
    await queue.add(
      JOB_NAME,
      {
        table: batch.table,
        firstId: batch.firstId,
        lastId: batch.lastId,
        rows: batch.rows,
        keys,
        ...(pass ? { pass: pass.id } : {}),
      },
      jobOptions(settings.queue, jobId),
    );
    deps.track?.(batch.table, jobId, keys.length);
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
