/**
 * Shared progress in Redis, across every worker on every machine:
 *
 * - `<prefix>:stats:<table>` (hash): what the producer queued (rowsTotal, rowsQueued,
 *   keysQueued, jobsQueued) and what workers finished (rowsDone, copied, skipped, missing,
 *   failed, bytes), plus timestamps.
 * - `<prefix>:done:<table>` (set): ids of batches whose outcome was counted. A batch is counted
 *   once, atomically with its counters (one Lua script), however often it was run — so after
 *   killed workers and retries the counters still add up: copied + skipped + missing + failed
 *   = keys queued.
 * - `<prefix>:queued:<table>` (set): ids of batches ever queued (`jobs` run twice adds none).
 * - `<prefix>:problems` (list): the latest 100 missing/failed keys with their reasons.
 * - `<prefix>:workers:<id>` (string with a TTL): a worker's heartbeat, with the live counts of
 *   the batches it is working on (not yet committed).
 * - `<prefix>:requests` (hash): requests by store and kind, retries and throttled answers, as
 *   every worker adds what it did since its last heartbeat (the metrics' totals).
 * - `<prefix>:pass:<pass>:<table>` (hash, expires after a week): the counters of the batches
 *   one `jobs --follow` pass queued, committed with them, so the pass knows what it copied.
 * - `<prefix>:follow` (string with a TTL): the live status of `jobs --follow` (pass, lag), for
 *   the dashboard and `status`; `<prefix>:follow:last-pass`: the id of its last completed pass.
 */
import type { Redis } from 'ioredis';
import type { TableName } from '../mastodon/types.ts';
import { OUTCOME_FIELDS, type OutcomeField, type Outcomes } from '../transfer/outcomes.ts';
import { REQUEST_KINDS, REQUEST_STORES, type RequestKind, type RequestStore } from '../transfer/stats.ts';

/** The counters a worker commits per batch: the one outcome model (transfer/outcomes.ts). */
export const COUNTER_FIELDS = OUTCOME_FIELDS;
export type CounterField = OutcomeField;
export type Counters = Outcomes;

export interface TableProgress extends Counters {
  rowsTotal: number;
  rowsQueued: number;
  keysQueued: number;
  jobsQueued: number;
  rowsDone: number;
  startedAt: number | null;
  updatedAt: number | null;
}

export interface ProblemEntry {
  at: number;
  table: string;
  key: string;
  status: 'missing' | 'failed';
  reason: string;
}

export interface WorkerBeat {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  startedAt: number;
  activeJobs: number;
  /** Copies in progress now. */
  inFlight?: number;
  /** Live counts of the batches in progress (not yet committed). */
  partial: PartialBatch[];
}

export interface PartialBatch {
  table: string;
  jobId: string;
  counters: Counters;
}

export const PROBLEMS_KEPT = 100;

/** What workers did, summed over all of them: requests by store and kind, retries, throttling. */
export interface RequestTotals {
  requests: Record<RequestStore, Record<RequestKind, number>>;
  retries: number;
  throttled: number;
}

/** The fields of `<prefix>:requests`: `source.get`, …, `retries`, `throttled`. */
export function requestTotalsFields(totals: RequestTotals): Record<string, number> {
  const fields: Record<string, number> = { retries: totals.retries, throttled: totals.throttled };
  for (const store of REQUEST_STORES) {
    for (const kind of REQUEST_KINDS) fields[`${store}.${kind}`] = totals.requests[store][kind];
  }
  return fields;
}

export function emptyCounters(): Counters {
  return { copied: 0, skipped: 0, missing: 0, failed: 0, bytes: 0 };
}

export class ProgressKeys {
  constructor(readonly prefix: string) {}
  stats(table: string): string {
    return `${this.prefix}:stats:${table}`;
  }
  done(table: string): string {
    return `${this.prefix}:done:${table}`;
  }
  queued(table: string): string {
    return `${this.prefix}:queued:${table}`;
  }
  get problems(): string {
    return `${this.prefix}:problems`;
  }
  worker(id: string): string {
    return `${this.prefix}:workers:${id}`;
  }
  get workerPattern(): string {
    return `${this.prefix}:workers:*`;
  }
  get requests(): string {
    return `${this.prefix}:requests`;
  }
  /** The throughput chart's samples (samples.ts). */
  get samples(): string {
    return `${this.prefix}:samples`;
  }
  pass(pass: string, table: string): string {
    return `${this.prefix}:pass:${pass}:${table}`;
  }
  get follow(): string {
    return `${this.prefix}:follow`;
  }
  get lastFollowPass(): string {
    return `${this.prefix}:follow:last-pass`;
  }
}

/** What `jobs --follow` publishes while it runs (the dashboard shows the lag). */
export interface FollowBeat {
  pass: number;
  /** Age of the oldest change that may not be copied yet, seconds (0: caught up). */
  lagSeconds: number;
  /** Batches of the current pass not finished yet. */
  pendingBatches: number;
  /** When the current pass started (wall ms). */
  passStartedAt: number;
  at: number;
}

/** A pass's counters are kept this long after its last batch (enough for any restart). */
const PASS_TTL_SECONDS = 7 * 24 * 3600;

// KEYS: done set, stats hash, problems list, the pass hash or "". ARGV: job id, now, rows, then
// the five counters, then problem entries (JSON). Returns 1 when counted, 0 when this batch was
// counted before.
const COMMIT_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'rowsDone', ARGV[3])
local fields = {'copied', 'skipped', 'missing', 'failed', 'bytes'}
for i, field in ipairs(fields) do redis.call('HINCRBY', KEYS[2], field, ARGV[3 + i]) end
redis.call('HSETNX', KEYS[2], 'startedAt', ARGV[2])
redis.call('HSET', KEYS[2], 'updatedAt', ARGV[2])
if KEYS[4] ~= '' then
  for i, field in ipairs(fields) do redis.call('HINCRBY', KEYS[4], field, ARGV[3 + i]) end
  redis.call('HINCRBY', KEYS[4], 'batches', 1)
  redis.call('EXPIRE', KEYS[4], ${PASS_TTL_SECONDS})
end
for i = 9, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end
redis.call('LTRIM', KEYS[3], 0, ${PROBLEMS_KEPT - 1})
return 1
`;

// KEYS: queued set, stats hash. ARGV: job id, rows, keys. Returns 1 when newly queued.
const QUEUED_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'rowsQueued', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'keysQueued', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'jobsQueued', 1)
return 1
`;

function toNumber(value: string | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function progressOf(raw: Record<string, string>): TableProgress {
  const progress = {
    rowsTotal: toNumber(raw['rowsTotal']),
    rowsQueued: toNumber(raw['rowsQueued']),
    keysQueued: toNumber(raw['keysQueued']),
    jobsQueued: toNumber(raw['jobsQueued']),
    rowsDone: toNumber(raw['rowsDone']),
    startedAt: raw['startedAt'] ? toNumber(raw['startedAt']) : null,
    updatedAt: raw['updatedAt'] ? toNumber(raw['updatedAt']) : null,
  } as TableProgress;
  for (const field of COUNTER_FIELDS) progress[field] = toNumber(raw[field]);
  return progress;
}

export class SharedProgress {
  readonly keys: ProgressKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new ProgressKeys(prefix);
  }

  /** Whether this batch's outcome was already counted (it need not be queued again). */
  async isDone(table: TableName, jobId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.done(table), jobId)) === 1;
  }

  /** Which of these batch ids were counted. */
  async doneAmong(table: string, jobIds: readonly string[]): Promise<boolean[]> {
    if (jobIds.length === 0) return [];
    const found = await this.redis.smismember(this.keys.done(table), ...jobIds);
    return found.map((n) => n === 1);
  }

  async isQueued(table: TableName, jobId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.queued(table), jobId)) === 1;
  }

  /** Records a batch as queued; false when it was queued before (nothing counted twice). */
  async markQueued(table: TableName, jobId: string, rows: number, keys: number): Promise<boolean> {
    const added = await this.redis.eval(
      QUEUED_SCRIPT,
      2,
      this.keys.queued(table),
      this.keys.stats(table),
      jobId,
      rows,
      keys,
    );
    return added === 1;
  }

  async setRowsTotal(table: TableName, rows: number): Promise<void> {
    await this.redis.hset(this.keys.stats(table), 'rowsTotal', rows);
  }

  /** Counts one batch's outcome, once (and in its `jobs --follow` pass's counters, if any). */
  async commit(
    table: TableName,
    jobId: string,
    rows: number,
    counters: Counters,
    problems: ProblemEntry[],
    pass?: string,
  ): Promise<boolean> {
    const entries = problems.slice(0, PROBLEMS_KEPT).map((p) => JSON.stringify(p));
    const counted = await this.redis.eval(
      COMMIT_SCRIPT,
      4,
      this.keys.done(table),
      this.keys.stats(table),
      this.keys.problems,
      pass === undefined ? '' : this.keys.pass(pass, table),
      jobId,
      Date.now(),
      rows,
      ...COUNTER_FIELDS.map((f) => Math.round(counters[f])),
      ...entries,
    );
    return counted === 1;
  }

  /** Takes back failed counts of keys that are queued again (`jobs --retry-failed`). */
  async uncountFailed(table: TableName, keys: number): Promise<void> {
    await this.redis.hincrby(this.keys.stats(table), 'failed', -keys);
  }

  async table(table: string): Promise<TableProgress> {
    return progressOf(await this.redis.hgetall(this.keys.stats(table)));
  }

  /**
   * The committed counters of `tables` and which of `batches` (per table) are counted, read
   * in one MULTI: one moment of Redis, so a batch is either in both (committed) or in neither,
   * never counted twice and never missing (the overview adds the live counts of the others).
   */
  async committedSnapshot(
    tables: readonly string[],
    batches: ReadonlyMap<string, readonly string[]>,
  ): Promise<{ tables: TableProgress[]; counted: Map<string, boolean[]> }> {
    const multi = this.redis.multi();
    for (const table of tables) multi.hgetall(this.keys.stats(table));
    const asked = [...batches].filter(([, ids]) => ids.length > 0);
    for (const [table, ids] of asked) multi.smismember(this.keys.done(table), ...ids);
    const results = (await multi.exec()) ?? [];
    const value = (i: number) => {
      const [error, result] = results[i] ?? [new Error('no answer from Redis'), null];
      if (error) throw error;
      return result;
    };
    const progress = tables.map((_, i) => progressOf(value(i) as Record<string, string>));
    const counted = new Map(
      asked.map(([table], i) => [table, (value(tables.length + i) as number[]).map((n) => n === 1)]),
    );
    return { tables: progress, counted };
  }

  /** Adds a worker's requests since its last report (field → increment; zeros are skipped). */
  async addRequestTotals(delta: Record<string, number>): Promise<void> {
    const changed = Object.entries(delta).filter(([, n]) => n !== 0);
    if (changed.length === 0) return;
    const batch = this.redis.multi();
    for (const [field, n] of changed) batch.hincrby(this.keys.requests, field, n);
    const results = (await batch.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async requestTotals(): Promise<RequestTotals> {
    const raw = await this.redis.hgetall(this.keys.requests);
    const requests = Object.fromEntries(
      REQUEST_STORES.map((store) => [
        store,
        Object.fromEntries(REQUEST_KINDS.map((kind) => [kind, toNumber(raw[`${store}.${kind}`])])),
      ]),
    ) as RequestTotals['requests'];
    return { requests, retries: toNumber(raw['retries']), throttled: toNumber(raw['throttled']) };
  }

  /** `purge`: the request totals and the chart's samples go with the counters. */
  async resetRequestTotals(): Promise<void> {
    await this.redis.del(this.keys.requests, this.keys.samples);
  }

  /** The committed counters of one `jobs --follow` pass's batches of a table. */
  async passCounters(pass: string, table: TableName): Promise<Counters & { batches: number }> {
    const raw = await this.redis.hgetall(this.keys.pass(pass, table));
    const counters = { ...emptyCounters(), batches: toNumber(raw['batches']) };
    for (const field of COUNTER_FIELDS) counters[field] = toNumber(raw[field]);
    return counters;
  }

  async publishFollow(beat: FollowBeat, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.follow, JSON.stringify(beat), 'PX', ttlMs);
  }

  /** The id of the last `jobs --follow` pass whose batches all finished (see followPassId). */
  async lastFollowPass(): Promise<string | null> {
    return this.redis.get(this.keys.lastFollowPass);
  }

  async setLastFollowPass(id: string): Promise<void> {
    await this.redis.set(this.keys.lastFollowPass, id);
  }

  async forgetFollow(): Promise<void> {
    await this.redis.del(this.keys.follow);
  }

  /** The live status of `jobs --follow`, or null when none runs. */
  async follow(): Promise<FollowBeat | null> {
    const raw = await this.redis.get(this.keys.follow);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as FollowBeat;
    } catch {
      return null;
    }
  }

  async problems(limit = 20): Promise<ProblemEntry[]> {
    const raw = await this.redis.lrange(this.keys.problems, 0, limit - 1);
    return raw.flatMap((line) => {
      try {
        return [JSON.parse(line) as ProblemEntry];
      } catch {
        return [];
      }
    });
  }

  async beat(beat: WorkerBeat, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.worker(beat.id), JSON.stringify(beat), 'PX', ttlMs);
  }

  async forget(workerId: string): Promise<void> {
    await this.redis.del(this.keys.worker(workerId));
  }

  /** Workers whose heartbeat has not expired. */
  async workers(): Promise<WorkerBeat[]> {
    const names = await this.scan(this.keys.workerPattern);
    if (names.length === 0) return [];
    const values = await this.redis.mget(...names);
    return values.flatMap((v) => {
      if (!v) return [];
      try {
        return [JSON.parse(v) as WorkerBeat];
      } catch {
        return [];
      }
    });
  }

  /**
   * Removes every counter, set and list of these tables (their follow passes' counters too),
   * the problems list, and which follow pass completed last (its batches are forgotten).
   */
  async reset(tables: readonly string[]): Promise<void> {
    const names = tables.flatMap((t) => [this.keys.stats(t), this.keys.done(t), this.keys.queued(t)]);
    const passes = (await this.scan(this.keys.pass('*', '*'))).filter((name) =>
      tables.some((t) => name.endsWith(`:${t}`)),
    );
    await this.redis.del(...names, ...passes, this.keys.problems, this.keys.lastFollowPass);
  }

  private async scan(pattern: string): Promise<string[]> {
    const names: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      names.push(...found);
    } while (cursor !== '0');
    return names;
  }
}
