/**
 * Where the metrics' numbers come from: the distributed run's overview (the dashboard, the
 * same read as `status --json`), or one process' own stats (`sync`, `worker --metrics-port`).
 */
import type { Overview } from '../queue/overview.ts';
import type { StatsSnapshot } from '../transfer/stats.ts';
import type { MetricsSnapshot } from './registry.ts';

export function metricsOfOverview(overview: Overview): MetricsSnapshot {
  return {
    tables: overview.tables.map((t) => ({
      table: t.table,
      copied: t.copied,
      skipped: t.skipped,
      missing: t.missing,
      failed: t.failed,
      bytes: t.bytes,
      keysExpected: t.keysExpected,
    })),
    requests: overview.requests,
    retries: overview.retries,
    throttled: overview.throttled,
    inFlight: overview.inFlight,
    queueJobs: overview.tables.flatMap((t) =>
      Object.entries(t.jobs).map(([state, jobs]) => ({ table: t.table, state, jobs })),
    ),
    workers: overview.workers.length,
    lagSeconds: overview.follow?.lagSeconds ?? null,
  };
}

export function metricsOfStats(stats: StatsSnapshot, lagSeconds: number | null = null): MetricsSnapshot {
  return {
    tables: Object.entries(stats.tables).map(([table, t]) => ({
      table,
      copied: t.copied,
      skipped: t.skipped,
      missing: t.missing,
      failed: t.failed,
      bytes: t.bytes,
      keysExpected: t.keys,
    })),
    requests: stats.requestsByStore,
    retries: stats.retries,
    throttled: stats.throttled,
    inFlight: stats.inFlight,
    lagSeconds,
  };
}
