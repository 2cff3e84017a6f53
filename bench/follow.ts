/**
 * `npm run bench:follow`: how far behind a live instance `sync --follow` stays.
 *
 * A writer plays Mastodon: at a steady rate it stores new media files in the source s3rver and
 * then commits their rows (snowflake ids of now) to a real PostgreSQL database, while
 * `sync --follow` (default interval 30 s unless --interval) copies to a destination behind a
 * proxy adding 20 ms per request (the source is behind one too). The lag of each object is
 * measured from outside: from its row's commit to the destination's answer to its PUT (the
 * proxy timestamps it). Reported per rate: lag p50 / p99 / max, the rate the destination
 * received, the tool's own lagSeconds, and the database time of its passes (dbSeconds).
 *
 * Flags: --rates 20,100,500 (new objects/s), --seconds 120 (writer time per rate),
 * --interval 30s, --out FILE (JSON; default bench/out/follow-<time>.json), --workers N: follow
 * with `jobs --follow` and N `worker` processes (a private redis-server) instead of `sync --follow`.
 * Prints PASS/FAIL for issue 12's goal (informational): lag p99 ≤ 60 s at 100 objects/s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { fakeInstance, referencedKeys, snowflake } from '../dev/fake-instance.ts';
import { startProxy, startProxyProcess } from '../dev/proxy.ts';
import { rawClient, type S3Server, startS3Server } from '../dev/s3.ts';
import { keysForRow } from '../src/mastodon/catalog.ts';
import { startPrivateRedis } from '../test/helpers/redis.ts';
import { iniFor, seedDatabase, seedObjects } from './lib/dataset.ts';
import { SHEBANG_NODE_FLAGS } from './lib/shebang.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const LATENCY_MS = 20;
const TICK_MS = 200;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const RATES = (option('rates') ?? '20,100,500').split(',').map(Number);
const SECONDS = Number(option('seconds') ?? 120);
const INTERVAL = option('interval');
/** With N: `jobs --follow` and N workers; without: `sync --follow`. */
const WORKERS = option('workers') === undefined ? 0 : Number(option('workers'));
const OUT =
  option('out') ??
  join(ROOT, 'bench', 'out', `follow-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

interface RateResult {
  rate: number;
  written: number;
  copied: number;
  receivedPerSecond: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  toolMaxLagSeconds: number;
  passes: number;
  dbSecondsPerPassMedian: number;
  dbSecondsPerPassMax: number;
  caughtUp: boolean;
}

function startFollower(ini: string): { child: ChildProcess; lines: Array<Record<string, number>> } {
  const child = spawn(
    process.execPath,
    [
      ...SHEBANG_NODE_FLAGS,
      BIN,
      ...(WORKERS > 0 ? ['jobs', '--follow', '--json'] : ['sync', '--follow', '--json', '--no-progress']),
      '--log-level',
      'warn',
      ...(INTERVAL ? ['--interval', INTERVAL] : []),
      '--config',
      ini,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Array<Record<string, number>> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const text of complete) if (text.trim()) lines.push(JSON.parse(text));
  });
  return { child, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWorkers(ini: string): ChildProcess[] {
  return Array.from({ length: WORKERS }, () =>
    spawn(process.execPath, [...SHEBANG_NODE_FLAGS, BIN, 'worker', '--log-level', 'warn', '--config', ini], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
          const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          child.once('close', () => {
            clearTimeout(killer);
            resolve(null);
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'msst-bench-follow-'));
  const destBuckets = RATES.map((r) => `follow-${r}`);
  const servers: [S3Server, S3Server] = await Promise.all([
    startS3Server({ buckets: ['live'], accessKeyId: 'FOLLOW-SRC', secretAccessKey: 'follow-source-secret' }),
    startS3Server({ buckets: destBuckets, accessKeyId: 'FOLLOW-DST', secretAccessKey: 'follow-dest-secret' }),
  ]);
  const sourceProxy = await startProxyProcess({ target: servers[0].endpoint, latencyMs: LATENCY_MS });
  const destProxy = await startProxy({ target: servers[1].endpoint, latencyMs: LATENCY_MS });
  const initial = fakeInstance({ media: 200, seed: 1212 });
  const db = await seedDatabase(initial, 'msst_bench_follow');
  await seedObjects(
    servers[0],
    'live',
    referencedKeys(initial).map((k) => ({ key: k.key, size: 20_000 })),
  );
  const redis = WORKERS > 0 ? await startPrivateRedis() : null;
  const source = rawClient(servers[0]);
  const body = randomBytes(30_000);
  const results: RateResult[] = [];
  let sequence = 0;
  try {
    for (const rate of RATES) {
      const bucket = `follow-${rate}`;
      const ini = join(work, `${bucket}.ini`);
      const queue = redis ? `[queue]\nredis = ${redis.url}\nprefix = follow-${rate}\nbatch_size = 100\n` : '';
      writeFileSync(
        ini,
        iniFor(db, sourceProxy.endpoint, destProxy.endpoint, 'live', bucket, servers) + `\n${queue}`,
      );
      destProxy.reset();
      console.log(`rate ${rate} objects/s: bulk pass …`);
      const workers = startWorkers(ini);
      const follower = startFollower(ini);
      while (!follower.lines.some((l) => l['pass'] === 1)) {
        if (follower.child.exitCode !== null) throw new Error('follower exited during the bulk pass');
        await sleep(100);
      }
      const passesBefore = follower.lines.length;
      console.log(`  writing ${rate} objects/s for ${SECONDS} s …`);
      const committedAt = new Map<string, number>();
      const writerEnd = Date.now() + SECONDS * 1000;
      let owed = 0;
      while (Date.now() < writerEnd) {
        const tickStart = Date.now();
        owed += (rate * TICK_MS) / 1000;
        const rows = [];
        // Image media: two objects per row (original, small).
        while (owed >= 2) {
          owed -= 2;
          sequence++;
          rows.push({
            id: snowflake(Date.now(), sequence),
            type: 0,
            file_file_name: `live${String(sequence).padStart(12, '0')}.png`,
            file_content_type: 'image/png',
            file_file_size: body.length,
            file_storage_schema_version: 1,
            remote_url: '',
          });
        }
        const keys = rows.flatMap((row) => keysForRow('media_attachments', row));
        await Promise.all(
          keys.map((k) =>
            source.send(
              new PutObjectCommand({ Bucket: 'live', Key: k.key, Body: body, ContentType: 'image/png' }),
            ),
          ),
        );
        if (rows.length > 0) {
          const values = rows.map(
            (_, i) =>
              `($${i * 7 + 1}, $${i * 7 + 2}, $${i * 7 + 3}, $${i * 7 + 4}, $${i * 7 + 5}, $${i * 7 + 6}, $${i * 7 + 7}, now(), now(), now())`,
          );
          await db.client.query(
            `INSERT INTO media_attachments (id, type, file_file_name, file_content_type, file_file_size, file_storage_schema_version, remote_url, file_updated_at, created_at, updated_at) VALUES ${values.join(', ')}`,
            rows.flatMap((r) => [
              r.id,
              r.type,
              r.file_file_name,
              r.file_content_type,
              r.file_file_size,
              r.file_storage_schema_version,
              r.remote_url,
            ]),
          );
          const at = Date.now();
          for (const k of keys) committedAt.set(k.key, at);
        }
        await sleep(Math.max(0, TICK_MS - (Date.now() - tickStart)));
      }
      console.log(`  waiting for the destination to catch up (${committedAt.size} objects written) …`);
      const answered = new Map<string, number>();
      const catchUpDeadline = Date.now() + 180_000;
      for (;;) {
        for (const r of destProxy.requests) {
          if (r.method !== 'PUT' || r.status !== 200 || r.answeredAt === undefined) continue;
          const key = decodeURIComponent(r.path.split('?')[0]!.split('/').slice(2).join('/'));
          if (committedAt.has(key) && !answered.has(key)) answered.set(key, r.answeredAt);
        }
        if (answered.size >= committedAt.size || Date.now() > catchUpDeadline) break;
        await sleep(500);
      }
      await stopAll([follower.child]);
      await stopAll(workers);
      const lags = [...answered]
        .map(([key, at]) => (at - committedAt.get(key)!) / 1000)
        .sort((a, b) => a - b);
      const passes = follower.lines.slice(passesBefore).filter((l) => l['pass'] !== undefined);
      const dbTimes = passes.map((p) => p['dbSeconds'] ?? 0).sort((a, b) => a - b);
      const firstCommit = Math.min(...committedAt.values());
      const lastAnswer = Math.max(...answered.values());
      const result: RateResult = {
        rate,
        written: committedAt.size,
        copied: answered.size,
        receivedPerSecond: round(answered.size / ((lastAnswer - firstCommit) / 1000)),
        lagP50: round(percentile(lags, 50)),
        lagP99: round(percentile(lags, 99)),
        lagMax: round(lags.at(-1) ?? Number.NaN),
        toolMaxLagSeconds: round(Math.max(0, ...passes.map((p) => p['lagSeconds'] ?? 0))),
        passes: passes.length,
        dbSecondsPerPassMedian: round(percentile(dbTimes, 50), 3),
        dbSecondsPerPassMax: round(dbTimes.at(-1) ?? 0, 3),
        caughtUp: answered.size >= committedAt.size,
      };
      results.push(result);
      console.log(
        `  lag p50 ${result.lagP50} s, p99 ${result.lagP99} s, max ${result.lagMax} s; received ${result.receivedPerSecond} objects/s; ${result.passes} passes, DB ${result.dbSecondsPerPassMedian} s/pass (max ${result.dbSecondsPerPassMax})${result.caughtUp ? '' : '; DID NOT CATCH UP'}`,
      );
    }
  } finally {
    await destProxy.stop();
    await sourceProxy.stop();
    await db.drop();
    await redis?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
  console.log(
    `\nrate obj/s  written  copied  received/s  lag p50  lag p99  lag max  passes  DB s/pass (median, max)   (${WORKERS > 0 ? `jobs --follow + ${WORKERS} workers` : 'sync --follow'}, +${LATENCY_MS} ms per request, interval ${INTERVAL ?? '30s'})`,
  );
  for (const r of results) {
    console.log(
      `${String(r.rate).padStart(10)}  ${String(r.written).padStart(7)}  ${String(r.copied).padStart(6)}  ${String(r.receivedPerSecond).padStart(10)}  ${String(r.lagP50).padStart(7)}  ${String(r.lagP99).padStart(7)}  ${String(r.lagMax).padStart(7)}  ${String(r.passes).padStart(6)}  ${r.dbSecondsPerPassMedian}, ${r.dbSecondsPerPassMax}`,
    );
  }
  const at100 = results.find((r) => r.rate === 100);
  if (at100) {
    const pass = at100.caughtUp && at100.lagP99 <= 60;
    console.log(`\n${pass ? 'PASS' : 'FAIL'}  100 objects/s: lag p99 ${at100.lagP99} s (goal ≤ 60 s)`);
  }
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(
    OUT,
    `${JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, workers: WORKERS, results }, null, 2)}\n`,
  );
  console.log(`written to ${OUT}`);
}

await main();
