/**
 * docs/grafana-dashboard.json imports as is: valid JSON in Grafana's export format (a
 * Prometheus data source input), and every query names only metrics the tool exports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metrics } from '../../src/metrics/registry.ts';
import { parseMetrics } from '../helpers/prometheus.ts';

const DASHBOARD = join(import.meta.dirname, '..', '..', 'docs', 'grafana-dashboard.json');

test('the Grafana dashboard queries only exported metrics', async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    __inputs: Array<{ name: string; pluginId: string }>;
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  assert.deepEqual(
    dashboard.__inputs.map((i) => [i.name, i.pluginId]),
    [['DS_PROMETHEUS', 'prometheus']],
  );
  const kinds = { list: 0, head: 0, get: 0, put: 0, copy: 0 };
  const metrics = new Metrics(
    async () => ({
      tables: [
        { table: 'accounts', copied: 1, skipped: 0, missing: 0, failed: 0, bytes: 1, keysExpected: 1 },
      ],
      requests: { source: kinds, destination: kinds },
      retries: 0,
      throttled: 0,
      inFlight: 0,
      queueJobs: [{ table: 'accounts', state: 'waiting', jobs: 0 }],
      workers: 1,
      lagSeconds: 0,
    }),
    { distributed: true },
  );
  const exported = new Set(parseMetrics(await metrics.render()).families.map((f) => f.name));
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, panel.title);
    for (const target of panel.targets) {
      for (const name of target.expr.match(/mastodon_s3_sync_[a-z_]+/g) ?? []) used.add(name);
    }
  }
  assert.deepEqual(
    [...used].filter((name) => !exported.has(name)),
    [],
    'names the tool does not export',
  );
  for (const needed of [
    'objects_total',
    'bytes_total',
    'retries_total',
    'throttled_total',
    'queue_jobs',
    'workers',
    'lag_seconds',
  ]) {
    assert.ok(used.has(`mastodon_s3_sync_${needed}`), needed);
  }
});
