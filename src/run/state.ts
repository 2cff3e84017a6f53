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

/**
 * `--since` as a time: an ISO timestamp (`2026-11-30T18:00:00Z`; without a zone, UTC), or a
 * duration before `now` (`90m`, `6h`, `2d`). `last` is resolved per table by the caller.
 */
export function parseSince(value: string, now = Date.now()): Date {
  const duration = DURATION.exec(value.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2]!.toLowerCase()]!);
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(iso.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new ConfigError(
      `--since ${JSON.stringify(value)}: expected an ISO time (2026-11-30T18:00:00Z), a duration (90m, 6h, 2d) or "last"`,
    );
  }
  if (at > now) throw new ConfigError(`--since ${value}: in the future`);
  return new Date(at);
}

/**
 * `--until` (sync --follow): an ISO time in the future, or a duration from `now` (`90m`,
 * `6h`, `2d`). Returns wall-clock ms.
 */
export function parseUntil(value: string, now = Date.now()): number {
  const duration = DURATION.exec(value.trim());
  if (duration) return now + Number(duration[1]) * UNIT_MS[duration[2]!.toLowerCase()]!;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(iso.replace(' ', 'T')) : Number.NaN;
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
