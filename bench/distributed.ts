/**
 * `npm run bench:distributed`: the same data as `npm run bench`, copied three ways through a
 * proxy adding 20 ms per request (as real object stores answer): the in-process `sync`, then
 * `jobs` + 1 worker, then `jobs` + 2 workers (separate processes, one Redis). Reports
 * objects/s of each and Redis peak memory.
 *
 * Then Redis memory of a 200,000-row enqueue (`jobs media_attachments`): once without
 * backpressure (max_waiting huge: every job sits in Redis), once with the default max_waiting
 * while a consumer takes jobs as fast as they come — the bound `max_waiting` gives.
 *
 * Each Redis is a private redis-server on a loopback port, so its peak is this run's alone.
 * Flags: --objects N (5000), --concurrency N (16, per process), --latency MS (20),
 * --rows N (200000), --no-enqueue, and for the scaling check:
 * --dataset main|thumbnails (main: the mix of `npm run bench`; thumbnails: every object 5–40 KB),
 * --workers LIST (1,2: the worker counts to run), --batch-size N ([queue] batch_size; default
 * the config's), --no-sync (skip the in-process sync).
 * --scaling is --dataset thumbnails --latency 100 --concurrency 8 --workers 1,3 --batch-size 20
 * --no-sync --no-enqueue (any of them may still be given): whether 3 workers reach 2.4× one worker.
 * Whenever 1 and N > 1 workers both ran, it prints N workers' objects/s over one worker's and,
 * for 3 workers, a PASS/FAIL line for "≥ 2.4×" (informational: the exit code stays 0).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startProxyProcess } from '../dev/proxy.ts';
import { type S3Server, startS3Server } from '../dev/s3.ts';
import { OverviewReader } from '../src/queue/overview.ts';
import { SharedProgress } from '../src/queue/progress.ts';
import { closeQueues, openQueues } from '../src/queue/queues.ts';
import type { QueueSettings } from '../src/queue/settings.ts';
import { createTestDatabase } from '../test/helpers/pg.ts';
import { startPrivateRedis } from '../test/helpers/redis.ts';
import { iniFor, mainDataset, seedDatabase, seedObjects, thumbnailDataset } from './lib/dataset.ts';
import { seedMediaAttachments } from './lib/seed.ts';
import { SHEBANG_NODE_FLAGS } from './lib/shebang.ts';
import { timed } from './lib/timed.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const MB = 1024 * 1024;

const SCALING = process.argv.includes('--scaling');
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
function flag(name: string, fallback: number): number {
  const value = option(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${value}`);
  return n;
}
const OBJECTS = flag('objects', 5000);
const CONCURRENCY = flag('concurrency', SCALING ? 8 : 16);
const LATENCY_MS = flag('latency', SCALING ? 100 : 20);
const ENQUEUE_ROWS = flag('rows', 200_000);
const WITH_ENQUEUE = !SCALING && !process.argv.includes('--no-enqueue');
const WITH_SYNC = !SCALING && !process.argv.includes('--no-sync');
const DATASET = option('dataset') ?? (SCALING ? 'thumbnails' : 'main');
if (DATASET !== 'main' && DATASET !== 'thumbnails')
  throw new Error(`--dataset: main or thumbnails, got ${DATASET}`);
const WORKERS = (option('workers') ?? (SCALING ? '1,3' : '1,2')).split(',').map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: a list of counts like 1,3, got ${w}`);
  return n;
});
/** [queue] batch_size of the distributed runs (null: the config's default). */
/**
 * --scaling uses batch_size 20, as issue 11's table does: 1,050 thumbnails at the default 200
 * make about six batches (three of them 400 keys of media), too few to share between three
 * workers whatever the scheduling (measured 1.19×; with 20: 2.52×).
 */
const BATCH_SIZE = option('batch-size') === undefined ? (SCALING ? 20 : null) : flag('batch-size', 0);
/** The scaling target: 3 workers at least this many times one worker's objects/s. */
const TARGET_WORKERS = 3;
const TARGET_RATIO = 2.4;
const ENV = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  CONFIG_FILE: '',
  CONFIG_FILE_NAME: '',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cli(args: string[]): Promise<string> {
  const t = await timed(process.execPath, [...SHEBANG_NODE_FLAGS, BIN, ...args], ENV);
  if (t.code !== 0) throw new Error(`${args[0]} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}`);
  return t.stdout;
}

async function redisMemory(url: string): Promise<{ usedMB: number; peakMB: number }> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('memory');
    const value = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0) / MB;
    return { usedMB: value('used_memory'), peakMB: value('used_memory_peak') };
  } finally {
    redis.disconnect();
  }
}

interface Row {
  mode: string;
  /** Worker processes (0: the in-process sync). */
  workers: number;
  seconds: number;
  objectsPerSecond: number;
  mbPerSecond: number;
  redisPeakMB: number | null;
  /** Requests both stores answered, per object. */
  requestsPerObject: number;
}

/** Reads the run's progress straight from Redis (spawning `status` each time would steal the CPU it measures). */
async function watchProgress(redisUrl: string, prefix: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const settings = { prefix } as QueueSettings;
  const queues = openQueues(redis, settings);
  const reader = new OverviewReader(new SharedProgress(redis, prefix), queues);
  return {
    read: () => reader.read(),
    close: async () => {
      await closeQueues(queues.values());
      redis.disconnect();
    },
  };
}

/** `jobs` + N workers started together; returns when every queued key is counted. */
async function distributedRun(
  ini: string,
  redisUrl: string,
  prefix: string,
  workers: number,
): Promise<{ seconds: number; bytes: number }> {
  const started = Date.now();
  const children = Array.from({ length: workers }, () =>
    spawn(process.execPath, [...SHEBANG_NODE_FLAGS, BIN, 'worker', '--config', ini, '--log-level', 'warn'], {
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'ignore', 'ignore'],
    }),
  );
  const progress = await watchProgress(redisUrl, prefix);
  try {
    await cli(['jobs', '--config', ini, '--log-level', 'warn', '--json']);
    for (;;) {
      const t = (await progress.read()).totals;
      if (
        t.keysQueued > 0 &&
        t.done >= t.keysQueued &&
        t.jobs.waiting + t.jobs.active + t.jobs.delayed === 0
      ) {
        if (t.failed > 0) throw new Error(`distributed run: ${t.failed} failed`);
        return { seconds: (Date.now() - started) / 1000, bytes: t.bytes };
      }
      await sleep(250);
    }
  } finally {
    await progress.close();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
  }
}

async function copyComparison(work: string): Promise<Row[]> {
  const rows: Row[] = [];
  const servers: [S3Server, S3Server] = await Promise.all([
    startS3Server({ buckets: ['source'], accessKeyId: 'BENCH-SRC', secretAccessKey: 'bench-source-secret' }),
    startS3Server({
      buckets: ['sync', ...WORKERS.map((n) => `workers-${n}`)],
      accessKeyId: 'BENCH-DST',
      secretAccessKey: 'bench-destination-secret',
    }),
  ]);
  const proxies = await Promise.all(
    servers.map((s) => startProxyProcess({ target: s.endpoint, latencyMs: LATENCY_MS })),
  );
  const { rows: dbRows, keys } = (DATASET === 'thumbnails' ? thumbnailDataset : mainDataset)(OBJECTS);
  const requestsSoFar = async () =>
    (await Promise.all(proxies.map((p) => p.count()))).reduce((a, b) => a + b, 0);
  const db = await seedDatabase(dbRows, 'msst_bench_dist');
  try {
    const totalBytes = keys.reduce((n, k) => n + k.size, 0);
    console.log(`seeding ${keys.length} ${DATASET} objects, ${(totalBytes / MB).toFixed(0)} MB …`);
    await seedObjects(servers[0], 'source', keys);
    const ini = (bucket: string, redis = '') => {
      const path = join(work, `${bucket}.ini`);
      const base = iniFor(db, proxies[0]!.endpoint, proxies[1]!.endpoint, 'source', bucket, servers);
      writeFileSync(
        path,
        `${base}\n[queue]\nconcurrency = ${CONCURRENCY}\n${BATCH_SIZE === null ? '' : `batch_size = ${BATCH_SIZE}\n`}${redis ? `redis = ${redis}\nprefix = bench-${bucket}\n` : ''}`,
      );
      return path;
    };
    const syncRun = async (): Promise<void> => {
      const requestsBefore = await requestsSoFar();
      const started = Date.now();
      await cli([
        'sync',
        '--config',
        ini('sync'),
        '--concurrency',
        String(CONCURRENCY),
        '--json',
        '--no-progress',
        '--log-level',
        'warn',
      ]);
      const syncSeconds = (Date.now() - started) / 1000;
      rows.push({
        mode: 'sync (in process)',
        workers: 0,
        seconds: syncSeconds,
        objectsPerSecond: keys.length / syncSeconds,
        mbPerSecond: totalBytes / MB / syncSeconds,
        redisPeakMB: null,
        requestsPerObject: ((await requestsSoFar()) - requestsBefore) / keys.length,
      });
      console.log(`  sync: ${syncSeconds.toFixed(1)} s`);
    };
    if (WITH_SYNC) await syncRun();
    for (const workers of WORKERS) {
      const redis = await startPrivateRedis();
      try {
        const requestsBefore = await requestsSoFar();
        const run = await distributedRun(
          ini(`workers-${workers}`, redis.url),
          redis.url,
          `bench-workers-${workers}`,
          workers,
        );
        const memory = await redisMemory(redis.url);
        rows.push({
          mode: `jobs + ${workers} worker${workers > 1 ? 's' : ''}`,
          workers,
          seconds: run.seconds,
          objectsPerSecond: keys.length / run.seconds,
          mbPerSecond: totalBytes / MB / run.seconds,
          redisPeakMB: memory.peakMB,
          requestsPerObject: ((await requestsSoFar()) - requestsBefore) / keys.length,
        });
        console.log(
          `  jobs + ${workers} worker(s): ${run.seconds.toFixed(1)} s, Redis peak ${memory.peakMB.toFixed(1)} MB`,
        );
      } finally {
        await redis.stop();
      }
    }
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await db.drop();
    await Promise.all(servers.map((s) => s.stop()));
  }
  return rows;
}

interface Scaling {
  workers: number;
  objectsPerSecond: number;
  oneWorkerObjectsPerSecond: number;
  ratio: number;
}

/** N workers' objects/s over one worker's, for every N > 1 that ran beside 1. */
function scalingOf(copies: readonly Row[]): Scaling[] {
  const one = copies.find((r) => r.workers === 1);
  if (!one) return [];
  return copies
    .filter((r) => r.workers > 1)
    .map((r) => ({
      workers: r.workers,
      objectsPerSecond: r.objectsPerSecond,
      oneWorkerObjectsPerSecond: one.objectsPerSecond,
      ratio: r.objectsPerSecond / one.objectsPerSecond,
    }));
}

interface EnqueueRow {
  mode: string;
  rows: number;
  jobs: number;
  seconds: number;
  redisUsedMB: number;
  redisPeakMB: number;
  baselineMB: number;
}

async function enqueueMemory(work: string): Promise<EnqueueRow[]> {
  const db = await createTestDatabase('4.6', 'msst_bench_enqueue');
  const results: EnqueueRow[] = [];
  try {
    console.log(`seeding ${ENQUEUE_ROWS.toLocaleString('en-US')} media_attachments rows …`);
    await seedMediaAttachments(db.client, 1, ENQUEUE_ROWS);
    await db.client.query('ANALYZE');
    for (const mode of ['no backpressure', 'max_waiting 50, consumer draining'] as const) {
      const redis = await startPrivateRedis();
      const prefix = 'bench-enqueue';
      const consumerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
      let consumer: Worker | null = null;
      try {
        const baseline = await redisMemory(redis.url);
        const maxWaiting = mode === 'no backpressure' ? 1_000_000 : 50;
        const path = join(work, 'enqueue.ini');
        writeFileSync(
          path,
          `${db.iniSection()}\n[s3.destination]\nbucket = unused\nendpoint_url = http://127.0.0.1:9\naccess_key = x\nsecret_key = y\n\n[queue]\nredis = ${redis.url}\nprefix = ${prefix}\nmax_waiting = ${maxWaiting}\n`,
        );
        if (mode !== 'no backpressure') {
          // Takes jobs as fast as they come (no copying): what Redis holds is the producer's backlog.
          consumer = new Worker('media_attachments', async () => {}, {
            connection: consumerConnection,
            prefix,
            concurrency: 50,
          });
        }
        const started = Date.now();
        const out = JSON.parse(
          await cli(['jobs', 'media_attachments', '--config', path, '--json', '--log-level', 'warn']),
        ) as {
          tables: Array<{ jobs: number; rows: number }>;
        };
        const seconds = (Date.now() - started) / 1000;
        const memory = await redisMemory(redis.url);
        results.push({
          mode,
          rows: out.tables[0]!.rows,
          jobs: out.tables[0]!.jobs,
          seconds,
          redisUsedMB: memory.usedMB,
          redisPeakMB: memory.peakMB,
          baselineMB: baseline.usedMB,
        });
        console.log(
          `  ${mode}: ${seconds.toFixed(1)} s, Redis used ${memory.usedMB.toFixed(1)} MB, peak ${memory.peakMB.toFixed(1)} MB`,
        );
      } finally {
        await consumer?.close();
        consumerConnection.disconnect();
        await redis.stop();
      }
    }
  } finally {
    await db.drop();
  }
  return results;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'msst-bench-dist-'));
  try {
    const copies = await copyComparison(work);
    const syncRate = copies.find((r) => r.workers === 0)?.objectsPerSecond ?? null;
    console.log(
      `\nmode                objects/s   MB/s   vs sync   Redis peak MB   requests/object   (${DATASET} data set, +${LATENCY_MS} ms per request, concurrency ${CONCURRENCY} per process${BATCH_SIZE === null ? '' : `, batch_size ${BATCH_SIZE}`})`,
    );
    for (const r of copies) {
      console.log(
        `${r.mode.padEnd(20)}${r.objectsPerSecond.toFixed(1).padStart(9)}${r.mbPerSecond.toFixed(1).padStart(7)}${(syncRate === null ? '-' : `${(r.objectsPerSecond / syncRate).toFixed(2)}×`).padStart(10)}${(r.redisPeakMB === null ? '-' : r.redisPeakMB.toFixed(1)).padStart(16)}${r.requestsPerObject.toFixed(3).padStart(18)}`,
      );
    }
    const scaling = scalingOf(copies);
    for (const s of scaling) {
      console.log(
        `${s.workers} workers: ${s.objectsPerSecond.toFixed(1)} objects/s = ${s.ratio.toFixed(2)}× one worker (${s.oneWorkerObjectsPerSecond.toFixed(1)} objects/s)`,
      );
    }
    const target = scaling.find((s) => s.workers === TARGET_WORKERS);
    const verdict = target
      ? {
          workers: TARGET_WORKERS,
          ratio: target.ratio,
          target: TARGET_RATIO,
          pass: target.ratio >= TARGET_RATIO,
        }
      : null;
    if (verdict) {
      console.log(
        `${verdict.pass ? 'PASS' : 'FAIL'}: ${TARGET_WORKERS} workers ${verdict.ratio.toFixed(2)}× one worker (target ≥ ${TARGET_RATIO}×; informational)`,
      );
    }
    const enqueue = WITH_ENQUEUE ? await enqueueMemory(work) : [];
    for (const e of enqueue) {
      console.log(
        `enqueue ${e.rows.toLocaleString('en-US')} rows (${e.jobs} jobs), ${e.mode}: ${e.seconds.toFixed(1)} s, Redis used ${(e.redisUsedMB - e.baselineMB).toFixed(1)} MB above an empty server at the end, peak ${e.redisPeakMB.toFixed(1)} MB`,
      );
    }
    console.log(
      JSON.stringify({
        objects: OBJECTS,
        concurrency: CONCURRENCY,
        latencyMs: LATENCY_MS,
        dataset: DATASET,
        batchSize: BATCH_SIZE,
        copies,
        enqueue,
        scaling,
        verdict,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
