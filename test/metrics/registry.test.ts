/**
 * The metrics as Prometheus reads them (parsed back with a real parser): names in its
 * conventions, one series per table × outcome and store × kind, values equal to the snapshot
 * of the scrape, the lag present only while a follower runs, default process metrics.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metrics, type MetricsSnapshot } from '../../src/metrics/registry.ts';
import { parseMetrics } from '../helpers/prometheus.ts';

const kinds = (get: number, put: number) => ({ list: 1, head: 0, get, put, copy: 0 });

function snapshot(copied: number, lag: number | null): MetricsSnapshot {
  return {
    tables: [
      {
        table: 'media_attachments',
        copied,
        skipped: 2,
        missing: 1,
        failed: 0,
        bytes: 1234,
        keysExpected: 50,
      },
      { table: 'accounts', copied: 3, skipped: 0, missing: 0, failed: 1, bytes: 99, keysExpected: 4 },
    ],
    requests: { source: kinds(copied + 3, 0), destination: kinds(0, copied + 3) },
    retries: 4,
    throttled: 2,
    inFlight: 5,
    queueJobs: [{ table: 'media_attachments', state: 'waiting', jobs: 7 }],
    workers: 2,
    lagSeconds: lag,
  };
}

describe('metrics', () => {
  test('each scrape shows exactly its snapshot, in Prometheus names', async () => {
    let current = snapshot(10, null);
    const metrics = new Metrics(async () => current, { distributed: true });
    let scrape = parseMetrics(await metrics.render());
    const v = scrape.value;
    assert.equal(v('mastodon_s3_sync_objects_total', { table: 'media_attachments', outcome: 'copied' }), 10);
    assert.equal(v('mastodon_s3_sync_objects_total', { table: 'media_attachments', outcome: 'missing' }), 1);
    assert.equal(v('mastodon_s3_sync_objects_total', { table: 'accounts', outcome: 'failed' }), 1);
    assert.equal(v('mastodon_s3_sync_bytes_total', { table: 'media_attachments' }), 1234);
    assert.equal(v('mastodon_s3_sync_keys_expected', { table: 'accounts' }), 4);
    assert.equal(v('mastodon_s3_sync_requests_total', { store: 'source', kind: 'get' }), 13);
    assert.equal(v('mastodon_s3_sync_requests_total', { store: 'destination', kind: 'put' }), 13);
    assert.equal(v('mastodon_s3_sync_retries_total'), 4);
    assert.equal(v('mastodon_s3_sync_throttled_total'), 2);
    assert.equal(v('mastodon_s3_sync_in_flight'), 5);
    assert.equal(v('mastodon_s3_sync_queue_jobs', { table: 'media_attachments', state: 'waiting' }), 7);
    assert.equal(v('mastodon_s3_sync_workers'), 2);
    assert.equal(v('mastodon_s3_sync_lag_seconds'), undefined, 'no follower: no lag series');
    assert.ok(v('process_cpu_seconds_total')! >= 0, 'default process metrics');
    const types = new Map(scrape.families.map((f) => [f.name, f.type]));
    assert.equal(types.get('mastodon_s3_sync_objects_total'), 'COUNTER');
    assert.equal(types.get('mastodon_s3_sync_in_flight'), 'GAUGE');

    // The next scrape: the new totals (not added to the old ones), and the follower's lag.
    current = snapshot(25, 3.5);
    scrape = parseMetrics(await metrics.render());
    assert.equal(
      scrape.value('mastodon_s3_sync_objects_total', { table: 'media_attachments', outcome: 'copied' }),
      25,
    );
    assert.equal(scrape.value('mastodon_s3_sync_lag_seconds'), 3.5);
    current = snapshot(25, null);
    scrape = parseMetrics(await metrics.render());
    assert.equal(scrape.value('mastodon_s3_sync_lag_seconds'), undefined, 'the follower stopped');
  });

  test('a counter never shows less than before, but a total back to 0 is a reset', async () => {
    let copied = 10;
    const metrics = new Metrics(async () => snapshot(copied, null), { distributed: true });
    const copiedNow = async () =>
      parseMetrics(await metrics.render()).value('mastodon_s3_sync_objects_total', {
        table: 'media_attachments',
        outcome: 'copied',
      });
    assert.equal(await copiedNow(), 10);
    copied = 7; // a dead worker's live counts gone
    assert.equal(await copiedNow(), 10);
    copied = 12;
    assert.equal(await copiedNow(), 12);
    copied = 0; // purge
    assert.equal(await copiedNow(), 0);
  });

  test("a process' metrics have no queue or worker series", async () => {
    const metrics = new Metrics(
      async () => ({ ...snapshot(1, 0), queueJobs: undefined, workers: undefined }),
      {
        distributed: false,
      },
    );
    const scrape = parseMetrics(await metrics.render());
    const names = new Set(scrape.families.map((f) => f.name));
    assert.ok(!names.has('mastodon_s3_sync_workers') && !names.has('mastodon_s3_sync_queue_jobs'));
    assert.equal(scrape.value('mastodon_s3_sync_lag_seconds'), 0, 'a follower caught up: lag 0');
  });
});
