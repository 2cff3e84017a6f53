/**
 * /metrics with real components: PostgreSQL, Redis, two s3rver stores (the destination behind
 * a proxy adding latency), the CLI spawned as an admin runs it (`jobs`, two `worker --metrics-port`,
 * `dashboard`, `sync --follow --metrics-port`), every answer parsed back with a Prometheus
 * text-format parser.
 *
 * - The dashboard's metrics equal `status --json` during the run (between two reads of it)
 *   and exactly after; the two workers' own metrics add up to the shared totals.
 * - `sync --follow --metrics-port` shows its copies and its lag.
 * - No secret in any answer; basic auth guards a process' /metrics when configured, and one
 *   off loopback without credentials is refused (exit 2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { parseMetrics, type Scrape } from '../helpers/prometheus.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';
import { startServing } from '../helpers/serving.ts';
import {
  describeRun,
  type RunningCli,
  removeTempInis,
  s3Section,
  sleep,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'MET-SRC-ACCESS-1', secretAccessKey: 'met-src-Secret-a1s2d3' };
const DEST_KEYS = { accessKeyId: 'MET-DST-ACCESS-2', secretAccessKey: 'met-dst-Secret-f4g5h6' };
const WEB_PASSWORD = 'met-Web-Pass-j7k8l9';
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS), WEB_PASSWORD];

const rows = fakeInstance({ media: 300, seed: 61 });
const keys = referencedKeys(rows);
const MISSING = keys[11]!.key;
const prefix = testPrefix('metrics');

let world: World;
let db: TestDatabase;
let slow: RecordingProxy;
const running: RunningCli[] = [];

function config(bucket: string, extra = ''): string {
  return tempIni(
    s3Section('source', { endpoint: world.source.endpoint, ...SOURCE_KEYS }, 'met-source') +
      s3Section('destination', { endpoint: slow.endpoint, ...DEST_KEYS }, bucket) +
      db.iniSection() +
      `[queue]\nredis = ${REDIS_URL}\nprefix = ${prefix}\nbatch_size = 40\nconcurrency = 4\nlock_seconds = 3\n\n${extra}`,
  );
}

/** startServing at info level, remembered for the clean-up. */
async function startServingHere(args: string[], what: string) {
  const serving = await startServing([...args, '--log-level', 'info'], what);
  running.push(serving.run);
  return serving;
}

async function scrape(url: string, auth?: string): Promise<{ text: string; metrics: Scrape }> {
  const response = await fetch(url, auth ? { headers: { authorization: auth } } : {});
  assert.equal(response.status, 200, `${url}: HTTP ${response.status}`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const secret of SECRETS) assert.ok(!text.includes(secret), 'no secret in /metrics');
  return { text, metrics: parseMetrics(text) };
}

interface StatusJson {
  tables: Array<{
    table: string;
    copied: number;
    skipped: number;
    missing: number;
    failed: number;
    bytes: number;
    keysExpected: number;
    jobs: Record<string, number>;
  }>;
  totals: { copied: number; done: number; keysExpected: number; jobs: Record<string, number> };
  workers: unknown[];
  requests: Record<string, Record<string, number>>;
  retries: number;
  throttled: number;
}

async function status(ini: string): Promise<StatusJson> {
  const result = await runCli(['status', '--config', ini, '--json']);
  assert.equal(result.code, 0, describeRun(result));
  return JSON.parse(result.stdout) as StatusJson;
}

const sumOf = (m: Scrape, name: string, match: (labels: string) => boolean = () => true) =>
  [...m.values]
    .filter(([series]) => series.startsWith(`${name}{`) && match(series))
    .reduce((n, [, v]) => n + v, 0);

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_metrics',
    source: { bucket: 'met-source', keys: SOURCE_KEYS },
    dest: { buckets: ['met-dest', 'met-follow'], keys: DEST_KEYS },
    rows,
    objects: keys
      .filter((k) => k.key !== MISSING)
      .map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
    destProxy: { latencyMs: 25, record: false },
  });
  db = world.db;
  slow = world.destProxy!;
});

after(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.done.catch(() => {})));
  removeTempInis();
  await dropPrefix(REDIS_URL, prefix).catch(() => {});
  await world?.stop();
});

describe('/metrics', () => {
  it('the dashboard equals status --json during and after a run with two workers; workers add up', async () => {
    const ini = config('met-dest');
    const queued = await runCli(['jobs', '--config', ini, '--log-level', 'warn']);
    assert.equal(queued.code, 0, describeRun(queued));
    const dashboard = await startServingHere(['dashboard', '--config', ini, '--port', '0'], 'dashboard');
    const metricsUrl = `${dashboard.url}metrics`;
    const workers = [
      await startServingHere(['worker', '--config', ini, '--metrics-port', '0'], 'metrics'),
      await startServingHere(['worker', '--config', ini, '--metrics-port', '0'], 'metrics'),
    ];

    // During: every counter lies between the status read before and the one after.
    let checkedDuring = false;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const before = await status(ini);
      const { metrics } = await scrape(metricsUrl);
      const afterRead = await status(ini);
      const copied = sumOf(metrics, 'mastodon_s3_sync_objects_total', (s) => s.includes('outcome="copied"'));
      assert.ok(
        before.totals.copied <= copied && copied <= afterRead.totals.copied,
        `${before.totals.copied} ≤ ${copied} ≤ ${afterRead.totals.copied}`,
      );
      if (copied > 0 && afterRead.totals.done < afterRead.totals.keysExpected) checkedDuring = true;
      const jobs = afterRead.totals.jobs;
      if (afterRead.totals.done >= keys.length && jobs['waiting']! + jobs['active']! + jobs['delayed']! === 0)
        break;
      await sleep(150);
    }
    assert.ok(checkedDuring, 'compared while the run was going');

    // After: exactly equal, series by series.
    await sleep(1500); // the workers' last heartbeat carries their last requests
    const final = await status(ini);
    const { metrics } = await scrape(metricsUrl);
    for (const t of final.tables) {
      for (const outcome of ['copied', 'skipped', 'missing', 'failed'] as const) {
        assert.equal(
          metrics.value('mastodon_s3_sync_objects_total', { table: t.table, outcome }),
          t[outcome],
          `${t.table} ${outcome}`,
        );
      }
      assert.equal(metrics.value('mastodon_s3_sync_bytes_total', { table: t.table }), t.bytes);
      assert.equal(metrics.value('mastodon_s3_sync_keys_expected', { table: t.table }), t.keysExpected);
      for (const [state, n] of Object.entries(t.jobs)) {
        assert.equal(metrics.value('mastodon_s3_sync_queue_jobs', { table: t.table, state }), n);
      }
    }
    assert.equal(
      metrics.value('mastodon_s3_sync_objects_total', { table: 'media_attachments', outcome: 'missing' }),
      1,
    );
    assert.equal(metrics.value('mastodon_s3_sync_workers'), final.workers.length);
    assert.equal(final.workers.length, 2);
    for (const [store, kinds] of Object.entries(final.requests)) {
      for (const [kind, n] of Object.entries(kinds)) {
        assert.equal(
          metrics.value('mastodon_s3_sync_requests_total', { store, kind }),
          n,
          `${store} ${kind}`,
        );
      }
    }
    assert.ok(
      final.requests['destination']!['put']! >= keys.length - 1,
      'one PUT per copied object at least',
    );
    assert.equal(metrics.value('mastodon_s3_sync_retries_total'), final.retries);
    assert.equal(metrics.value('mastodon_s3_sync_lag_seconds'), undefined, 'no follower');

    // Each worker's own metrics: together, the shared totals.
    const own = await Promise.all(workers.map((w) => scrape(w.url)));
    const copiedByWorkers = own.reduce(
      (n, { metrics: m }) =>
        n + sumOf(m, 'mastodon_s3_sync_objects_total', (s) => s.includes('outcome="copied"')),
      0,
    );
    assert.equal(copiedByWorkers, final.totals.copied);
    const putsByWorkers = own.reduce(
      (n, { metrics: m }) =>
        n + (m.value('mastodon_s3_sync_requests_total', { store: 'destination', kind: 'put' }) ?? 0),
      0,
    );
    assert.equal(putsByWorkers, final.requests['destination']!['put']);
    for (const w of workers) {
      w.run.child.kill('SIGTERM');
      assert.equal((await w.run.done).code, 0);
    }
  });

  it("sync --follow --metrics-port: the process' copies and its lag", async () => {
    const ini = config('met-follow');
    const follower = await startServingHere(
      ['sync', '--follow', '--interval', '1s', '--no-progress', '--config', ini, '--metrics-port', '0'],
      'metrics',
    );
    const deadline = Date.now() + 60_000;
    let last: Scrape | null = null;
    while (Date.now() < deadline) {
      last = (await scrape(follower.url)).metrics;
      const copied = sumOf(last, 'mastodon_s3_sync_objects_total', (s) => s.includes('outcome="copied"'));
      if (copied === keys.length - 1 && last.value('mastodon_s3_sync_lag_seconds') === 0) break;
      await sleep(250);
    }
    assert.equal(last?.value('mastodon_s3_sync_lag_seconds'), 0, 'caught up: lag 0');
    assert.equal(last?.value('mastodon_s3_sync_workers'), undefined, 'no worker series in a process');
    assert.ok(
      (last?.value('mastodon_s3_sync_requests_total', { store: 'source', kind: 'get' }) ?? 0) >=
        keys.length - 1,
    );
    follower.run.child.kill('SIGTERM');
    assert.equal((await follower.run.done).code, 0);
  });

  it('basic auth when configured; off loopback without credentials: exit 2', async () => {
    const guarded = config('met-dest', `[dashboard]\nuser = admin\npassword = ${WEB_PASSWORD}\n`);
    const w = await startServingHere(['worker', '--config', guarded, '--metrics-port', '0'], 'metrics');
    assert.equal((await fetch(w.url)).status, 401);
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    assert.equal((await fetch(w.url, { headers: { authorization: wrong } })).status, 401);
    await scrape(w.url, `Basic ${Buffer.from(`admin:${WEB_PASSWORD}`).toString('base64')}`);
    w.run.child.kill('SIGTERM');
    await w.run.done;

    const open = await runCli([
      'worker',
      '--config',
      config('met-dest'),
      '--metrics-port',
      '0',
      '--metrics-host',
      '0.0.0.0',
    ]);
    assert.equal(open.code, 2, describeRun(open));
    assert.match(open.stderr, /\[dashboard\].*password.*requires basic auth/);
  });
});
