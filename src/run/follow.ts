/**
 * `sync --follow`: pass after pass, copy what changed in the database since the last pass, so
 * the destination stays within about one interval of a live instance.
 *
 * A pass is an ordinary delta `sync` (the `--since` machinery: new snowflake ids and
 * `*_updated_at` columns) from each table's position. Positions are in the database's clock
 * (Mastodon's timestamps are), and each pass reads from its table's position minus
 * `overlapMs`: a row is stamped when Rails assigns its file but committed later (after the
 * upload and its thumbnails), so a row stamped just before a pass may only become visible after
 * it. Rows read twice are found at the destination and skipped (a listing, no copy).
 *
 * A table's position moves to the pass's start only when nothing of it failed: failed keys are
 * read again by the next pass, never left behind. The loop itself knows no stores or SQL:
 * everything it does goes through `FollowDeps`, so it is tested with a fake clock.
 */
import type { Logger } from '../log.ts';
import type { TableName } from '../mastodon/types.ts';

/** What one pass did (keys, as `sync` counts them). */
export interface PassOutcome {
  copied: number;
  skipped: number;
  missing: number;
  failed: number;
  /** Tables with failed keys: their positions stay where they were. */
  failedTables: readonly TableName[];
  /** Stopped before it read everything (the second Ctrl-C, or a store refused the run). */
  interrupted: boolean;
  /** Time the pass's database statements took, seconds. */
  dbSeconds: number;
}

/** The JSON status line of a pass (`--json`: one object per line). */
export interface FollowStatus {
  pass: number;
  /** Keys the pass read (copied + skipped + missing + failed). */
  found: number;
  copied: number;
  skipped: number;
  missing: number;
  failed: number;
  /** Age of the oldest change that may not be copied yet; 0 when the pass found nothing to copy. */
  lagSeconds: number;
  /** When the pass ended (ISO). */
  at: string;
  /** Time the pass's database statements took, seconds (its load on the database). */
  dbSeconds: number;
}

export type Positions = Map<TableName, Date>;

export interface FollowDeps {
  /** The database's clock (positions and Mastodon's timestamps are in it). */
  databaseNow(): Promise<Date>;
  /**
   * Copies what changed since each table's `since` (a table without one is read whole: the
   * bulk pass). `pass` is 1 for the first.
   */
  runPass(since: ReadonlyMap<TableName, Date>, pass: number): Promise<PassOutcome>;
  /** Records the positions after a pass (the state file), so a restart goes on from there. */
  savePositions(positions: ReadonlyMap<TableName, Date>): void;
  onStatus(status: FollowStatus): void;
  log: Logger;
  /** Waits `ms`, or less when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Wall clock, ms (for lag and --until). */
  now(): number;
}

export interface FollowSettings {
  tables: readonly TableName[];
  /** Where each table starts; a table absent here gets a bulk pass first. */
  start: ReadonlyMap<TableName, Date>;
  intervalMs: number;
  /** Re-read this much before each position (see above). */
  overlapMs: number;
  /** Wall-clock ms after which no new pass starts (--until), or undefined. */
  untilMs?: number;
  /** No new pass starts once this aborts (the first Ctrl-C / SIGTERM). */
  stop: AbortSignal;
}

export interface FollowResult {
  passes: number;
  /** Lag after the last pass, seconds. */
  lagSeconds: number;
  /** Highest lag any pass reported, seconds. */
  maxLagSeconds: number;
  /** The last pass was cut short: positions of its tables were not moved. */
  interrupted: boolean;
  /** Keys that failed in the last pass (they are read again by the next run). */
  failed: number;
}

/** Lag at least this long, followed by a pass with nothing to copy, is logged as "caught up". */
const BACKLOG_LOG_SECONDS = 60;

/** The `since` of each table for a pass: its position minus the overlap. */
export function sinceOf(positions: ReadonlyMap<TableName, Date>, overlapMs: number): Map<TableName, Date> {
  return new Map([...positions].map(([table, at]) => [table, new Date(at.getTime() - overlapMs)]));
}

export async function follow(deps: FollowDeps, settings: FollowSettings): Promise<FollowResult> {
  const positions: Positions = new Map(settings.start);
  const result: FollowResult = { passes: 0, lagSeconds: 0, maxLagSeconds: 0, interrupted: false, failed: 0 };
  let backlogSince: number | null = null; // wall ms when the lag first went over the log threshold
  const more = () =>
    !settings.stop.aborted && (settings.untilMs === undefined || deps.now() < settings.untilMs);
  while (more()) {
    const pass = ++result.passes;
    const startedAt = await deps.databaseNow();
    const startedWall = deps.now();
    const outcome = await deps.runPass(sinceOf(positions, settings.overlapMs), pass);
    result.failed = outcome.failed;
    if (outcome.interrupted) {
      result.interrupted = true;
      break;
    }
    for (const table of settings.tables) {
      if (!outcome.failedTables.includes(table)) positions.set(table, startedAt);
    }
    deps.savePositions(positions);
    // Something had to be copied: changes made since this pass started may not be copied yet.
    const pending = outcome.copied + outcome.failed > 0;
    const lagSeconds = pending ? Math.max(0, (deps.now() - startedWall) / 1000) : 0;
    result.lagSeconds = lagSeconds;
    result.maxLagSeconds = Math.max(result.maxLagSeconds, lagSeconds);
    deps.onStatus({
      pass,
      found: outcome.copied + outcome.skipped + outcome.missing + outcome.failed,
      copied: outcome.copied,
      skipped: outcome.skipped,
      missing: outcome.missing,
      failed: outcome.failed,
      lagSeconds: Math.round(lagSeconds * 10) / 10,
      at: new Date(deps.now()).toISOString(),
      dbSeconds: Math.round(outcome.dbSeconds * 1000) / 1000,
    });
    if (lagSeconds >= BACKLOG_LOG_SECONDS && backlogSince === null) backlogSince = startedWall;
    if (!pending && backlogSince !== null) {
      deps.log.info(
        { pass, backlogSeconds: Math.round((deps.now() - backlogSince) / 1000) },
        'follow caught up: every change so far is copied',
      );
      backlogSince = null;
    }
    // A pass that copied something starts the next one at once; one that only found failures
    // (a store down) waits the interval like an idle one, rather than spinning on them.
    if (outcome.copied === 0 && more()) {
      const untilLeft =
        settings.untilMs === undefined ? Number.POSITIVE_INFINITY : settings.untilMs - deps.now();
      await deps.sleep(Math.max(0, Math.min(settings.intervalMs, untilLeft)), settings.stop);
    }
  }
  return result;
}
