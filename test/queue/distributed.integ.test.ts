/**
 * Distributed mode end to end, with real components: PostgreSQL, Redis, two s3rver stores and
 * the CLI spawned as an admin would run it (`jobs`, several `worker` processes, `status`).
 *
 * - A few thousand objects; two workers; one killed with SIGKILL mid-run: every object ends
 *   at the destination with the source's bytes, and the shared counters add up exactly.
 * - `jobs` run twice queues nothing new.
 * - Redis (a private server with persistence) restarted mid-run: the run completes.
 * - Batches whose keys keep failing end as failed jobs listing exactly those keys;
 *   `jobs --retry-failed` requeues only them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type FakeRows, fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { dropPrefix, REDIS_URL, startPrivateRedis, testPrefix } from '../helpers/redis.ts';
import {
  assertClean,
  describeRun,
  fetchAll,
  listBucket,
  md5,
  type RunningCli,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'DIST-SRC-ACCESS-1', secretAccessKey: 'dist-src-Secret-q1w2e3' };
const DEST_KEYS = { accessKeyId: 'DIST-DST-ACCESS-2', secretAccessKey: 'dist-dst-Secret-r4t5y6' };
const DB_PASSWORD_UNUSED = 'unused-db-password-z9';
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];
const SOURCE_BUCKET = 'dist-source';

/** About 2,400 keys across every table; three of them deliberately missing at the source. */
const rows: FakeRows = fakeInstance({ media: 1000, seed: 77 });
const keys = referencedKeys(rows);
const MISSING = new Set([keys[5]!.key, keys[500]!.key, keys[1500]!.key]);
const BYTES = new Map(keys.map((k) => [k.key, uniqueBytes(k)]));
const present = keys.filter((k) => !MISSING.has(k.key));

let world: World;
let db: TestDatabase;
let source: S3Server;
let dest: S3Server;
let destClient: S3Client;
const proxies: RecordingProxy[] = [];
const prefixes: Array<[string, string]> = [];
const running: RunningCli[] = [];

function config(opts: {
  redis: string;
  prefix: string;
  bucket: string;
  destEndpoint: string;
  extra?: string;
}) {
  return tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, SOURCE_BUCKET) +
      s3Section('destination', { endpoint: opts.destEndpoint, ...DEST_KEYS }, opts.bucket) +
      db.iniSection() +
      `[celery]\nbroker = ${opts.redis}\nconcurrency = 6\n\n` +
      `[queue]\nprefix = ${opts.prefix}\nbatch_size = 50\nlock_seconds = 3\n${opts.extra ?? ''}\n`,
  );
}

function worker(ini: string): RunningCli {
  const run = startCli(['worker', '--config', ini, '--log-level', 'warn'], 240_000);
  running.push(run);
  return run;
}

interface StatusJson {
  tables: Array<{ table: string; keysQueued: number; done: number }>;
  totals: {
    keysQueued: number;
    keysExpected: number;
    done: number;
    copied: number;
    skipped: number;
    missing: number;
    failed: number;
    bytes: number;
    rowsDone: number;
    rowsTotal: number;
    jobs: { waiting: number; active: number; delayed: number; failed: number };
  };
  workers: Array<{ id: string }>;
}

async function status(ini: string): Promise<StatusJson> {
  const result = await runCli(['status', '--config', ini, '--json']);
  assert.equal(result.code, 0, describeRun(result));
  return JSON.parse(result.stdout) as StatusJson;
}

/** Waits until every queued key is counted and no job is waiting, active or delayed. */
async function waitUntilFinished(ini: string, timeoutMs = 120_000): Promise<StatusJson> {
  const deadline = Date.now() + timeoutMs;
  let last: StatusJson | null = null;
  while (Date.now() < deadline) {
    last = await status(ini);
    const { jobs } = last.totals;
    if (last.totals.keysQueued > 0 && jobs.waiting + jobs.active + jobs.delayed === 0) return last;
    await sleep(250);
  }
  throw new Error(`not finished after ${timeoutMs} ms: ${JSON.stringify(last?.totals)}`);
}

async function waitForObjects(bucket: string, min: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await listBucket(destClient, bucket)).size >= min) return;
    await sleep(50);
  }
  throw new Error(`fewer than ${min} objects at the destination after 60 s`);
}

async function assertAllCopied(bucket: string, expected: readonly CatalogKey[]): Promise<void> {
  const listed = await listBucket(destClient, bucket);
  const missing = expected.filter((k) => !listed.has(k.key)).map((k) => k.key);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} keys absent at the destination`);
  const fetched = await fetchAll(
    destClient,
    bucket,
    expected.map((k) => k.key),
  );
  const wrong = expected.filter((k) => fetched.get(k.key)!.md5 !== md5(BYTES.get(k.key)!));
  assert.deepEqual(
    wrong.map((k) => k.key),
    [],
    'objects whose bytes differ from the source',
  );
}

function assertCountersAddUp(s: StatusJson, expectedKeys: number): void {
  const t = s.totals;
  assert.equal(t.keysQueued, expectedKeys, 'every key queued once');
  assert.equal(
    t.copied + t.skipped + t.missing + t.failed,
    expectedKeys,
    `counters add up: ${JSON.stringify(t)}`,
  );
  assert.equal(t.done, expectedKeys);
  assert.equal(t.rowsDone, t.rowsTotal, 'every row counted once');
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_dist',
    source: { bucket: SOURCE_BUCKET, keys: SOURCE_KEYS },
    dest: { buckets: ['dst-kill', 'dst-redis', 'dst-fail', 'dst-pg'], keys: DEST_KEYS },
    rows,
    objects: present.map((k) => ({ key: k.key, body: BYTES.get(k.key)!, contentType: k.contentType })),
  });
  ({ db, source, dest, destClient } = world);
});

after(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.done.catch(() => {})));
  removeTempInis();
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(prefixes.map(([url, prefix]) => dropPrefix(url, prefix).catch(() => {})));
  await world?.stop();
});

describe('distributed mode', () => {
  it('two workers, one killed with SIGKILL mid-run: everything copied once, counters add up', async () => {
    const prefix = testPrefix('kill');
    prefixes.push([REDIS_URL, prefix]);
    const slow = await startProxy({ target: dest.endpoint, latencyMs: 15, record: false });
    proxies.push(slow);
    const ini = config({ redis: REDIS_URL, prefix, bucket: 'dst-kill', destEndpoint: slow.endpoint });

    const queued = await runCli(['jobs', '--config', ini, '--json', '--log-level', 'warn']);
    assert.equal(queued.code, 0, describeRun(queued));
    assertClean(queued, SECRETS);
    const summary = JSON.parse(queued.stdout) as { tables: Array<{ jobs: number; keys: number }> };
    const queuedKeys = summary.tables.reduce((n, t) => n + t.keys, 0);
    assert.equal(queuedKeys, keys.length);

    // Running `jobs` again queues nothing.
    const again = await runCli(['jobs', '--config', ini, '--json', '--log-level', 'warn']);
    assert.equal(again.code, 0, describeRun(again));
    const second = JSON.parse(again.stdout) as { tables: Array<{ jobs: number; alreadyQueued: number }> };
    assert.equal(
      second.tables.reduce((n, t) => n + t.jobs, 0),
      0,
    );
    assert.ok(second.tables.reduce((n, t) => n + t.alreadyQueued, 0) > 0);

    const a = worker(ini);
    const b = worker(ini);
    await waitForObjects('dst-kill', Math.round(present.length * 0.2));
    a.child.kill('SIGKILL');
    const killed = await a.done;
    assert.equal(killed.signal, 'SIGKILL');

    const finished = await waitUntilFinished(ini);
    b.child.kill('SIGTERM');
    const stopped = await b.done;
    assert.equal(stopped.code, 0, describeRun(stopped));
    assertClean(stopped, SECRETS);

    await assertAllCopied('dst-kill', present);
    assertCountersAddUp(finished, keys.length);
    assert.equal(finished.totals.missing, MISSING.size);
    assert.equal(finished.totals.failed, 0);
    assert.equal(finished.totals.copied + finished.totals.skipped, present.length);
    const expectedBytes = present.reduce((n, k) => n + BYTES.get(k.key)!.length, 0);
    assert.ok(finished.totals.bytes <= expectedBytes);
  });

  it('Redis restarted mid-run (persistence on): the run completes', async () => {
    const redis = await startPrivateRedis();
    try {
      const prefix = testPrefix('restart');
      const slow = await startProxy({ target: dest.endpoint, latencyMs: 15, record: false });
      proxies.push(slow);
      const ini = config({ redis: redis.url, prefix, bucket: 'dst-redis', destEndpoint: slow.endpoint });
      const queued = await runCli(['jobs', '--config', ini, '--json', '--log-level', 'warn']);
      assert.equal(queued.code, 0, describeRun(queued));
      const w = worker(ini);
      await waitForObjects('dst-redis', Math.round(present.length * 0.15));
      await redis.restart(1500);
      const finished = await waitUntilFinished(ini);
      w.child.kill('SIGTERM');
      const stopped = await w.done;
      assert.equal(stopped.code, 0, describeRun(stopped));
      await assertAllCopied('dst-redis', present);
      assertCountersAddUp(finished, keys.length);
    } finally {
      await redis.stop();
    }
  });

  it('the database session terminated mid-enumeration (pg_terminate_backend): jobs reconnects, the run completes', async () => {
    const prefix = testPrefix('pgkill');
    prefixes.push([REDIS_URL, prefix]);
    // Backpressure holds the producer after 3 waiting jobs, mid-table, until a worker drains them.
    const ini = config({
      redis: REDIS_URL,
      prefix,
      bucket: 'dst-pg',
      destEndpoint: dest.endpoint,
      extra: 'max_waiting = 3\n',
    });
    const producer = startCli(['jobs', '--config', ini, '--json', '--log-level', 'info'], 180_000);
    running.push(producer);
    // Wait until the producer is held by backpressure mid-table (3 jobs queued), so the
    // termination hits enumeration and not the initial connect (which fails fast, by design).
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      for (let i = 0; i < 300; i++) {
        if (Number(await redis.hget(`${prefix}:stats:media_attachments`, 'jobsQueued')) >= 3) break;
        await sleep(100);
      }
    } finally {
      redis.disconnect();
    }
    let terminated = 0;
    for (let i = 0; i < 200 && terminated === 0; i++) {
      await sleep(100);
      const result = await db.client.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'mastodon-s3-sync'`,
        [db.name],
      );
      terminated = result.rows.filter((r) => r.ok).length;
    }
    assert.equal(terminated, 1, 'the producer’s session was terminated while it was enumerating');
    const w = worker(ini);
    const queued = await producer.done;
    assert.equal(queued.code, 0, describeRun(queued));
    assert.match(queued.stderr, /reconnect/i, 'the producer reconnected');
    const finished = await waitUntilFinished(ini);
    w.child.kill('SIGTERM');
    assert.equal((await w.done).code, 0);
    assertCountersAddUp(finished, keys.length);
    await assertAllCopied('dst-pg', present);
  });

  it('keys that keep failing end in a failed job listing them; --retry-failed requeues only those', async () => {
    // A row whose file name holds a backslash: both its keys are refused as unsafe, every time.
    const badId = '109999999999999999';
    await db.client.query(
      `INSERT INTO media_attachments (id, type, file_file_name, file_content_type, file_file_size, remote_url, created_at, updated_at, shortcode)
       VALUES ($1, 0, 'bad\\name.png', 'image/png', 10, '', now(), now(), 'badrow')`,
      [badId],
    );
    try {
      const prefix = testPrefix('fail');
      prefixes.push([REDIS_URL, prefix]);
      const ini = config({
        redis: REDIS_URL,
        prefix,
        bucket: 'dst-fail',
        destEndpoint: dest.endpoint,
        extra: 'attempts = 1\n',
      });
      const queued = await runCli([
        'jobs',
        'media_attachments',
        '--config',
        ini,
        '--json',
        '--log-level',
        'warn',
      ]);
      assert.equal(queued.code, 0, describeRun(queued));
      const w = worker(ini);
      const finished = await waitUntilFinished(ini);
      assert.equal(finished.totals.failed, 2, JSON.stringify(finished.totals));
      assert.equal(finished.totals.jobs.failed, 1);

      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const queue = new Queue('media_attachments', { connection, prefix });
      try {
        const [failedJob] = await queue.getFailed();
        const failures = (failedJob!.data as { failures: Array<{ key: string; reason: string }> }).failures;
        assert.deepEqual(
          failures.map((f) => f.key).sort(),
          [
            `media_attachments/files/${'109/999/999/999/999/999'}/original/bad\\name.png`,
            `media_attachments/files/${'109/999/999/999/999/999'}/small/bad\\name.png`,
          ].sort(),
        );
        assert.match(failures[0]!.reason, /backslash/);

        const retried = await runCli([
          'jobs',
          'media_attachments',
          '--retry-failed',
          '--config',
          ini,
          '--json',
        ]);
        assert.equal(retried.code, 0, describeRun(retried));
        assert.deepEqual(JSON.parse(retried.stdout), { requeued: 1 });
        const after = await waitUntilFinished(ini);
        // The same two keys failed again, counted once each: the counters still add up.
        assert.equal(after.totals.failed, 2);
        assert.equal(
          after.totals.copied + after.totals.skipped + after.totals.missing + after.totals.failed,
          after.totals.keysQueued,
        );
        const [again] = await queue.getFailed();
        assert.equal(
          (again!.data as { keys: unknown[] }).keys.length,
          2,
          'only the failed keys were requeued',
        );
      } finally {
        await queue.close();
        connection.disconnect();
      }
      w.child.kill('SIGTERM');
      assert.equal((await w.done).code, 0);
    } finally {
      await db.client.query('DELETE FROM media_attachments WHERE id = $1', [badId]);
    }
  });
});

void DB_PASSWORD_UNUSED;
