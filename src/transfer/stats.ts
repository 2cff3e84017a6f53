/**
 * Run accounting, kept apart from copying and from display (as rclone's StatsInfo): copy code
 * records outcomes here; one `snapshot()` feeds the progress line, the summary table, --json
 * and (later) the dashboard.
 */
import type { TableName } from '../mastodon/types.ts';
import { addOutcomes, emptyOutcomes, type Outcomes } from './outcomes.ts';

/** A table's counters in a run: the outcomes (bytes counted once an object is complete), plus what was read. */
export interface TableCounters extends Outcomes {
  /** Keys the catalog listed so far. */
  keys: number;
  rows: number;
  /** Estimated rows for the whole run (progress and ETA). */
  rowsTotal: number;
}

export const REQUEST_KINDS = ['list', 'head', 'get', 'put', 'copy'] as const;
export const REQUEST_STORES = ['source', 'destination'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export type RequestStore = (typeof REQUEST_STORES)[number];

function noRequests(): Record<RequestKind, number> {
  return Object.fromEntries(REQUEST_KINDS.map((kind) => [kind, 0])) as Record<RequestKind, number>;
}

export interface StatsSnapshot {
  elapsedSeconds: number;
  tables: Record<string, TableCounters>;
  totals: TableCounters;
  /** Bytes streamed so far, including objects still in flight (for the live rate). */
  bytesStreamed: number;
  retries: number;
  throttled: number;
  /** Objects found only at their alternate location (with/without `cache/`). */
  alternate: number;
  /** Retry passes run after the main pass, and the keys they copied again ([sync] retry_passes). */
  retryPasses: number;
  retriedKeys: number;
  requests: Record<RequestKind, number>;
  /** The same requests by the store they went to (metrics). */
  requestsByStore: Record<RequestStore, Record<RequestKind, number>>;
  inFlight: number;
  /** The copy limit now; with concurrencyAuto, the one the pool has chosen so far. */
  concurrency: number;
  concurrencyAuto: boolean;
  /** The highest limit of the run. */
  concurrencyPeak: number;
}

function emptyCounters(): TableCounters {
  return { keys: 0, rows: 0, rowsTotal: 0, ...emptyOutcomes() };
}

export class Stats {
  private readonly started = Date.now();
  private readonly tables = new Map<string, TableCounters>();
  bytesStreamed = 0;
  retries = 0;
  throttled = 0;
  alternate = 0;
  retryPasses = 0;
  retriedKeys = 0;
  inFlight = 0;
  concurrency = 0;
  concurrencyAuto = false;
  concurrencyPeak = 0;
  readonly requests: Record<RequestKind, number> = noRequests();
  readonly requestsByStore: Record<RequestStore, Record<RequestKind, number>> = {
    source: noRequests(),
    destination: noRequests(),
  };

  /** The pool's current limit (called as copies end: cheap). */
  setConcurrency(limit: number): void {
    this.concurrency = limit;
    if (limit > this.concurrencyPeak) this.concurrencyPeak = limit;
  }

  table(name: TableName | string): TableCounters {
    let counters = this.tables.get(name);
    if (!counters) {
      counters = emptyCounters();
      this.tables.set(name, counters);
    }
    return counters;
  }

  /** Adds outcomes to a table's counters: the only way copy outcomes reach the run's stats. */
  add(table: TableName | string, outcomes: Readonly<Outcomes>): void {
    addOutcomes(this.table(table), outcomes);
  }

  request(kind: RequestKind, store: RequestStore, n = 1): void {
    this.requests[kind] += n;
    this.requestsByStore[store][kind] += n;
  }

  snapshot(): StatsSnapshot {
    const totals = emptyCounters();
    const tables: Record<string, TableCounters> = {};
    for (const [name, counters] of this.tables) {
      tables[name] = { ...counters };
      for (const field of Object.keys(totals) as Array<keyof TableCounters>) totals[field] += counters[field];
    }
    return {
      elapsedSeconds: (Date.now() - this.started) / 1000,
      tables,
      totals,
      bytesStreamed: this.bytesStreamed,
      retries: this.retries,
      throttled: this.throttled,
      alternate: this.alternate,
      retryPasses: this.retryPasses,
      retriedKeys: this.retriedKeys,
      requests: { ...this.requests },
      requestsByStore: {
        source: { ...this.requestsByStore.source },
        destination: { ...this.requestsByStore.destination },
      },
      inFlight: this.inFlight,
      concurrency: this.concurrency,
      concurrencyAuto: this.concurrencyAuto,
      concurrencyPeak: this.concurrencyPeak,
    };
  }
}
