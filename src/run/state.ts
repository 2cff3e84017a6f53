/**
 * The small state file next to the config (`<config>.state.json`): when the last completed
 * sync of each table started, for `sync --since last`. A run is "completed" for a table when it
 * read the whole table (no --limit, --offset, --since-id or scope flag), was not interrupted,
 * and nothing failed. Written atomically (temporary file, then rename).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { TableName } from '../mastodon/types.ts';
import type { PrivateOwners } from './acl-changes.ts';

export interface RunState {
  /** ISO start time of the last completed run, per table. */
  lastCompleted: Partial<Record<TableName, string>>;
  /** Who was private when the last sync of media started (acl-changes.ts). */
  privateOwners?: PrivateOwners;
}

export function statePath(configPath: string): string {
  return `${configPath}.state.json`;
}

export function readState(path: string): RunState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { lastCompleted: {} };
  }
  if (text.trim() === '') return { lastCompleted: {} }; // created empty (touch): nothing recorded
  try {
    const parsed = JSON.parse(text) as RunState;
    return {
      lastCompleted: parsed.lastCompleted ?? {},
      ...(parsed.privateOwners ? { privateOwners: parsed.privateOwners } : {}),
    };
  } catch {
    throw new ConfigError(`${path}: not a state file this tool wrote (delete it to start over)`);
  }
}

export function recordCompleted(path: string, tables: readonly TableName[], startedAt: Date): void {
  const state = readState(path);
  for (const table of tables) state.lastCompleted[table] = startedAt.toISOString();
  writeState(path, state);
}

export function recordPrivateOwners(path: string, owners: PrivateOwners): void {
  writeState(path, { ...readState(path), privateOwners: owners });
}

function writeState(path: string, state: RunState): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A duration (`90m`) as ms, or null when `value` is not one. */
function durationMs(value: string): number | null {
  const duration = DURATION.exec(value.trim());
  return duration ? Number(duration[1]) * UNIT_MS[duration[2]!.toLowerCase()]! : null;
}

/** An ISO time as ms (without a zone: UTC; a space may stand for the T), or NaN. */
function isoTimeMs(value: string): number {
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  return /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(iso.replace(' ', 'T')) : Number.NaN;
}

/**
 * `--since` as a time: an ISO timestamp (`2026-11-30T18:00:00Z`; without a zone, UTC), or a
 * duration before `now` (`90m`, `6h`, `2d`). `last` is resolved per table by the caller.
 */
export function parseSince(value: string, now = Date.now()): Date {
  const back = durationMs(value);
  if (back !== null) return new Date(now - back);
  const at = isoTimeMs(value);
  if (Number.isNaN(at)) {
    throw new ConfigError(
      `--since ${JSON.stringify(value)}: expected an ISO time (2026-11-30T18:00:00Z), a duration (90m, 6h, 2d) or "last"`,
    );
  }
  if (at > now) throw new ConfigError(`--since ${value}: in the future`);
  return new Date(at);
}

/**
 * `--since` → the time each table's changes are read from (`last`: its last completed run, an
 * error naming the tables that have none), or undefined without `--since`.
 */
export function resolveSince(
  since: string | undefined,
  tables: readonly TableName[],
  state: string,
): Map<TableName, Date> | undefined {
  if (since === undefined) return undefined;
  if (since !== 'last') {
    const at = parseSince(since);
    return new Map(tables.map((t) => [t, at]));
  }
  const recorded = readState(state).lastCompleted;
  const never = tables.filter((t) => !recorded[t]);
  if (never.length > 0) {
    throw new ConfigError(
      `--since last: no completed sync of ${never.join(', ')} recorded in ${state}; run a full sync first (or give a time)`,
    );
  }
  return new Map(tables.map((t) => [t, new Date(recorded[t]!)]));
}

/** The tables the state file has a completed run (or follow position) for, with its time. */
export function recordedPositions(tables: readonly TableName[], state: string): Map<TableName, Date> {
  const recorded = readState(state).lastCompleted;
  return new Map(tables.flatMap((t) => (recorded[t] ? [[t, new Date(recorded[t]!)] as const] : [])));
}

/**
 * `--until` (sync --follow): an ISO time in the future, or a duration from `now` (`90m`,
 * `6h`, `2d`). Returns wall-clock ms.
 */
export function parseUntil(value: string, now = Date.now()): number {
  const ahead = durationMs(value);
  if (ahead !== null) return now + ahead;
  const at = isoTimeMs(value);
  if (Number.isNaN(at)) {
    throw new ConfigError(
      `--until ${JSON.stringify(value)}: expected an ISO time (2026-12-05T06:00:00Z) or a duration (90m, 6h, 2d)`,
    );
  }
  if (at <= now) throw new ConfigError(`--until ${value}: already past`);
  return at;
}

const INTERVAL = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;

/** `--interval`: `30s`, `2m`, `500ms`, or plain seconds; at least 100 ms. Returns ms. */
export function parseInterval(value: string): number {
  const match = INTERVAL.exec(value.trim());
  const unit = (match?.[2] ?? 's').toLowerCase();
  const ms = match ? Number(match[1]) * (unit === 'ms' ? 1 : UNIT_MS[unit]!) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 100) {
    throw new ConfigError(
      `--interval ${JSON.stringify(value)}: expected a duration of at least 100ms (30s, 2m, 500ms)`,
    );
  }
  return ms;
}

/** Records each table's follow position (the start of its last pass that had no failures). */
export function recordPositions(path: string, positions: ReadonlyMap<TableName, Date>): void {
  const state = readState(path);
  for (const [table, at] of positions) state.lastCompleted[table] = at.toISOString();
  writeState(path, state);
}
