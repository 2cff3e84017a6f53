/**
 * One `jobs --follow` pass: queue the batches of what changed since each table's position
 * (producer.ts, same backpressure as `jobs`), then wait until workers finished every one of
 * them, so the pass' positions only move once its changes are at the destination.
 *
 * A pass' batches carry its id: workers add their counters to the pass' own (progress.ts), so
 * the pass knows what it copied however many other batches the workers run meanwhile. A batch
 * is settled when it is counted (the done set), when it ended failed, or when it was removed
 * from its queue (`jobs --retry-failed`, Bull Board, `purge`); failed and removed batches count
 * as failed: their tables keep their positions and the next pass reads those rows again.
 */
import { createHash } from 'node:crypto';
import type { MastodonDatabase } from '../db/database.ts';
import { sleep } from '../lib/retry.ts';
import type { Logger } from '../log.ts';
import type { TableName } from '../mastodon/types.ts';
import type { PassOutcome } from '../run/follow.ts';
import { type EnqueueSettings, enqueueTables } from './producer.ts';
import type { SharedProgress } from './progress.ts';
import type { BatchQueue } from './queues.ts';

export interface DistributedPassDeps {
  db: MastodonDatabase;
  queues: ReadonlyMap<TableName, BatchQueue>;
  progress: SharedProgress;
  log: Logger;
  /** Cuts the pass short (the second Ctrl-C): it stops queueing and stops waiting. */
  abort: AbortSignal;
  /** Told how many of the pass' batches are not settled yet, on every poll. */
  onPending?: (batches: number) => void;
}

/**
 * A pass' id (it scopes job ids and names the pass' counters): derived from where the pass
 * reads from and the last pass that completed, so a pass started again from the same positions
 * (kill -9, restart) has the same id and finds its batches still queued instead of queueing
 * the rows twice, while the pass after a completed one never has that one's id, even when its
 * positions did not move (every table failed): its rows are queued, and tried, again.
 */
export function followPassId(lastCompleted: string | null, since: ReadonlyMap<TableName, Date>): string {
  const from = [...since].map(([table, at]) => `${table}@${at.getTime()}`).sort();
  const digest = createHash('sha256')
    .update(JSON.stringify([lastCompleted, from]))
    .digest('hex');
  return `f${digest.slice(0, 16)}`;
}

/** How often the pass looks at its batches while workers copy them. */
export const PASS_POLL_MS = 500;
/** Every this many polls, also look for batches removed from their queue. */
const REMOVED_CHECK_POLLS = 10;
/** At most this many unsettled batches per table are asked for their state per check. */
const REMOVED_CHECK_BATCHES = 100;

interface Tracked {
  /** Job ids not settled yet, in the order they were queued. */
  pending: string[];
  /** Batches that ended failed (counted or not) or vanished uncounted: the table keeps its position. */
  failedBatches: number;
  /** Keys of the batches that ended without being counted (failed before counting, or removed). */
  lostKeys: number;
  keysOf: Map<string, number>;
}

/**
 * Runs one pass: tables in `since` are read from there (delta), the others whole (the bulk
 * pass). Returns what its batches did (the follow loop's PassOutcome).
 */
export async function runDistributedPass(
  deps: DistributedPassDeps,
  settings: Omit<EnqueueSettings, 'readFor' | 'pass'>,
  since: ReadonlyMap<TableName, Date>,
): Promise<PassOutcome> {
  const dbBefore = deps.db.queryMs;
  const pass = { id: followPassId(await deps.progress.lastFollowPass(), since), since };
  const tracked = new Map<TableName, Tracked>(
    settings.tables.map((t) => [t, { pending: [], failedBatches: 0, lostKeys: 0, keysOf: new Map() }]),
  );
  await enqueueTables(
    {
      db: deps.db,
      queues: deps.queues,
      progress: deps.progress,
      log: deps.log,
      stop: deps.abort,
      track: (table, jobId, keys) => {
        const entry = tracked.get(table)!;
        entry.pending.push(jobId);
        entry.keysOf.set(jobId, keys);
      },
    },
    {
      ...settings,
      readFor: (table) => {
        const since = pass.since.get(table);
        return since ? { ...settings.read, changedSince: since } : settings.read;
      },
      pass: { id: pass.id, delta: new Set(pass.since.keys()) },
    },
  );
  await waitForBatches(deps, tracked);
  if (!deps.abort.aborted) await deps.progress.setLastFollowPass(pass.id);
  return outcomeOf(deps, settings.tables, tracked, pass.id, (deps.db.queryMs - dbBefore) / 1000);
}

async function waitForBatches(deps: DistributedPassDeps, tracked: Map<TableName, Tracked>): Promise<void> {
  const pendingCount = () => [...tracked.values()].reduce((n, t) => n + t.pending.length, 0);
  for (let poll = 0; !deps.abort.aborted; poll++) {
    for (const [table, entry] of tracked) {
      if (entry.pending.length === 0) continue;
      await settle(deps, table, entry, poll % REMOVED_CHECK_POLLS === REMOVED_CHECK_POLLS - 1);
    }
    const pending = pendingCount();
    deps.onPending?.(pending);
    if (pending === 0) return;
    await sleep(PASS_POLL_MS, deps.abort).catch(() => {});
  }
}

/** Drops the table's batches that are counted, failed or gone from `pending`. */
async function settle(
  deps: DistributedPassDeps,
  table: TableName,
  entry: Tracked,
  lookForRemoved: boolean,
): Promise<void> {
  const queue = deps.queues.get(table)!;
  const lost = (id: string, counted: boolean) => {
    entry.failedBatches++;
    if (!counted) entry.lostKeys += entry.keysOf.get(id) ?? 0;
  };
  // The failed set first: a batch whose keys failed on its last attempt is counted (done) and
  // then ends failed; it must fail the table whichever of the two is seen.
  const failed =
    (await queue.getFailedCount()) > 0
      ? new Set(await queue.getRanges(['failed'], 0, -1))
      : new Set<string>();
  const done = await deps.progress.doneAmong(table, entry.pending);
  let left: string[] = [];
  entry.pending.forEach((id, i) => {
    if (failed.has(id)) lost(id, done[i]!);
    else if (!done[i]) left.push(id);
  });
  if (lookForRemoved && left.length > 0) {
    const asked = left.slice(0, REMOVED_CHECK_BATCHES);
    const states = await Promise.all(asked.map((id) => queue.getJobState(id)));
    const gone = asked.filter((_, i) => states[i] === 'unknown');
    // Counted between the reads (a completed job is removed once counted)?
    const countedSince = await deps.progress.doneAmong(table, gone);
    const removed = new Set(gone.filter((_, i) => !countedSince[i]));
    for (const id of removed) lost(id, false);
    left = left.filter((id) => !removed.has(id) && !gone.includes(id));
  }
  entry.pending = left;
}

async function outcomeOf(
  deps: DistributedPassDeps,
  tables: readonly TableName[],
  tracked: Map<TableName, Tracked>,
  passId: string,
  dbSeconds: number,
): Promise<PassOutcome> {
  const outcome: PassOutcome = {
    copied: 0,
    skipped: 0,
    missing: 0,
    failed: 0,
    failedTables: [],
    interrupted: deps.abort.aborted,
    dbSeconds,
  };
  const failedTables: TableName[] = [];
  for (const table of tables) {
    const entry = tracked.get(table)!;
    const counters = await deps.progress.passCounters(passId, table);
    outcome.copied += counters.copied;
    outcome.skipped += counters.skipped;
    outcome.missing += counters.missing;
    outcome.failed += counters.failed + entry.lostKeys;
    const keepsPosition = counters.failed + entry.lostKeys + entry.failedBatches + entry.pending.length > 0;
    if (keepsPosition) failedTables.push(table);
  }
  return { ...outcome, failedTables };
}
