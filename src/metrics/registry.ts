/**
 * Prometheus metrics (`/metrics`, text exposition format, via prom-client), one set of names
 * for every place that serves them: the dashboard (the distributed run's totals, read from
 * Redis) and `sync` / `worker --metrics-port` (the process' own counters).
 *
 * Each scrape takes one snapshot of the numbers and writes it into the metrics, so the values
 * of one scrape belong together (and equal what `status --json` reads at that moment). Labels
 * are tables, stores, request kinds, outcomes and queue states only: never a key, a bucket's
 * credentials or anything from the config.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { OUTCOME_FIELDS } from '../transfer/outcomes.ts';
import type { RequestKind, RequestStore } from '../transfer/stats.ts';

export const METRIC_PREFIX = 'mastodon_s3_sync_';

export interface TableMetrics {
  table: string;
  copied: number;
  skipped: number;
  missing: number;
  failed: number;
  bytes: number;
  /** Keys the run expects in all (distributed), or has listed so far (one process). */
  keysExpected: number;
}

/** One scrape's numbers. Fields a source does not know are left out (their metrics stay absent). */
export interface MetricsSnapshot {
  tables: readonly TableMetrics[];
  requests?: Record<RequestStore, Record<RequestKind, number>>;
  retries?: number;
  throttled?: number;
  inFlight?: number;
  /** Jobs per table and state (distributed). */
  queueJobs?: ReadonlyArray<{ table: string; state: string; jobs: number }>;
  workers?: number;
  /** `--follow`'s lag, when a follower runs. */
  lagSeconds?: number | null;
}

/**
 * Counters mirrored from totals kept elsewhere: each scrape sets each series to its total, but
 * never lower than it showed before — a counter that goes down reads as a reset to Prometheus,
 * and its rate() would count the whole total again. Totals dip legitimately now and then (the
 * live counts of a batch whose worker died, `retry failed` taking failed keys back); back to 0
 * is a real reset (`purge`) and is shown as one.
 */
class Mirrors {
  private readonly shown = new Map<string, number>();

  /** `metric` names the counter in this map (its series are keyed by it and the labels). */
  set(metric: string, counter: Counter<string>, labels: Record<string, string>, total: number): void {
    const series = `${metric}${JSON.stringify(labels)}`;
    const value = total <= 0 ? 0 : Math.max(total, this.shown.get(series) ?? 0);
    this.shown.set(series, value);
    counter.inc(labels, value);
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly mirrors = new Mirrors();
  private readonly objects: Counter<'table' | 'outcome'>;
  private readonly bytes: Counter<'table'>;
  private readonly keysExpected: Gauge<'table'>;
  private readonly requests: Counter<'store' | 'kind'>;
  private readonly retries: Counter;
  private readonly throttled: Counter;
  private readonly inFlight: Gauge;
  private readonly queueJobs: Gauge<'table' | 'state'>;
  private readonly workers: Gauge;
  private readonly lag: Gauge;

  /**
   * `distributed`: the dashboard's (queue and worker metrics too). The lag metric is present
   * only while the snapshot has a lag (a follower runs): an absent series, not a false 0.
   */
  constructor(
    private readonly read: () => Promise<MetricsSnapshot>,
    options: { distributed: boolean },
  ) {
    const registers = [this.registry];
    const distributedOnly = options.distributed ? registers : [];
    const name = (n: string) => `${METRIC_PREFIX}${n}`;
    this.objects = new Counter({
      name: name('objects_total'),
      help: 'Keys done, by table and outcome (copied, skipped: already at the destination, missing at the source, failed).',
      labelNames: ['table', 'outcome'],
      registers,
    });
    this.bytes = new Counter({
      name: name('bytes_total'),
      help: 'Bytes copied, by table.',
      labelNames: ['table'],
      registers,
    });
    this.keysExpected = new Gauge({
      name: name('keys_expected'),
      help: 'Keys the run expects in all, by table (one process: keys listed so far).',
      labelNames: ['table'],
      registers,
    });
    this.requests = new Counter({
      name: name('requests_total'),
      help: 'Requests sent to the stores, by store (source, destination) and kind (list, head, get, put, copy).',
      labelNames: ['store', 'kind'],
      registers,
    });
    this.retries = new Counter({ name: name('retries_total'), help: 'Requests retried.', registers });
    this.throttled = new Counter({
      name: name('throttled_total'),
      help: 'Answers that asked to slow down (503 SlowDown, 429).',
      registers,
    });
    this.inFlight = new Gauge({ name: name('in_flight'), help: 'Copies in progress now.', registers });
    this.queueJobs = new Gauge({
      name: name('queue_jobs'),
      help: "Jobs (batches) in each table's queue, by state (waiting, active, delayed, failed).",
      labelNames: ['table', 'state'],
      registers: distributedOnly,
    });
    this.workers = new Gauge({
      name: name('workers'),
      help: 'Workers connected now.',
      registers: distributedOnly,
    });
    this.lag = new Gauge({
      name: name('lag_seconds'),
      help: 'Follow mode: age of the oldest change that may not be copied yet (0: caught up).',
      registers: [],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of one scrape. */
  async render(): Promise<string> {
    this.apply(await this.read());
    return this.registry.metrics();
  }

  private apply(snapshot: MetricsSnapshot): void {
    for (const metric of [this.objects, this.bytes, this.keysExpected, this.requests, this.queueJobs]) {
      metric.reset();
    }
    for (const t of snapshot.tables) {
      for (const outcome of OUTCOME_FIELDS) {
        if (outcome === 'bytes') continue;
        this.mirrors.set('objects', this.objects, { table: t.table, outcome }, t[outcome]);
      }
      this.mirrors.set('bytes', this.bytes, { table: t.table }, t.bytes);
      this.keysExpected.set({ table: t.table }, t.keysExpected);
    }
    if (snapshot.requests) {
      for (const [store, kinds] of Object.entries(snapshot.requests)) {
        for (const [kind, n] of Object.entries(kinds))
          this.mirrors.set('requests', this.requests, { store, kind }, n);
      }
    }
    this.setCounter('retries', this.retries, snapshot.retries);
    this.setCounter('throttled', this.throttled, snapshot.throttled);
    this.setGauge(this.inFlight, snapshot.inFlight);
    for (const q of snapshot.queueJobs ?? []) this.queueJobs.set({ table: q.table, state: q.state }, q.jobs);
    this.setGauge(this.workers, snapshot.workers);
    const lagName = `${METRIC_PREFIX}lag_seconds`;
    const lagShown = this.registry.getSingleMetric(lagName) !== undefined;
    if (typeof snapshot.lagSeconds === 'number') {
      if (!lagShown) this.registry.registerMetric(this.lag);
      this.lag.set(snapshot.lagSeconds);
    } else if (lagShown) this.registry.removeSingleMetric(lagName);
  }

  private setCounter(metric: string, counter: Counter, value: number | undefined): void {
    counter.reset();
    if (value !== undefined) this.mirrors.set(metric, counter, {}, value);
  }

  private setGauge(gauge: Gauge, value: number | undefined): void {
    gauge.reset();
    if (value !== undefined) gauge.set(value);
  }
}
