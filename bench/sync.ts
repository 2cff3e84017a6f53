/**
 * `npm run bench`: this tool's `sync` against `rclone copy --files-from <plan> --no-traverse`
 * and against the harness' own ceiling — a reference client (bench/lib/reference-client.mjs:
 * bare GET → PUT, the same signing, nothing else) — on the same data, in the same run.
 *
 * Two data sets, each referenced by a fake Mastodon instance in a throwaway PostgreSQL
 * database and held by a source s3rver: the Mastodon mix (mostly 20–300 KB images and small
 * previews, some 1–10 MB videos and audio, a few 20–40 MB) and thumbnails (every object
 * 5–40 KB, where CPU per object decides throughput). Destinations are fresh buckets on a
 * second s3rver with other credentials (no server-side copy for anyone).
 *
 * Cases: +20 ms per request (proxies in their own processes, which also count requests) —
 * the mix at concurrency 16 and thumbnails at 32, each tool and the reference; +100 ms — the
 * mix at 8, and thumbnails at 8 / 24 / 64 against the latency limit concurrency ÷ (2 × 0.1 s)
 * and the reference; concurrency auto at +20 and +100 ms against the best fixed value;
 * bare loopback; a re-run where everything is there; and the memory case (concurrency 64
 * copying 100 MB objects).
 *
 * Before anything is measured, each data set is copied once by the reference client (not
 * measured: the servers' first run after the seeding is slower), and each measured run starts
 * with the disk synced (bench/lib/timed.ts).
 *
 * Measured per run with GNU time: wall s, objects/s, MB/s, CPU s per 1,000 objects
 * (user + sys of the process), requests per object, peak RSS. Prints a table, PASS/FAIL
 * lines against issue 11's goals (informational), one JSON line, and writes the JSON to
 * bench/out/sync-<time>.json (or --out FILE).
 *
 * Flags: --objects N (mix media rows, 2000), --thumbs N (thumbnail media rows, 2000),
 * --slow-objects N (mix media rows for +100 ms, 400), --no-rclone, --no-memory,
 * --memory-objects N, --memory-mb N, --only LIST (comma-separated case groups: lat20,
 * lat100, auto, loopback, rerun, memory; and thumbs20, the thumbnails at +20 ms alone, --repeat N
 * times), --out FILE, --cpu-prof DIR (the tool runs under
 * `node --cpu-prof`, profiles to DIR; read them with dev/cpu-profile.ts).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyProcess } from '../dev/proxy.ts';
import { type S3Server, startS3Server } from '../dev/s3.ts';
import type { TestDatabase } from '../test/helpers/pg.ts';
import {
  iniFor,
  mainDataset,
  memoryDataset,
  seedDatabase,
  seedObjects,
  thumbnailDataset,
} from './lib/dataset.ts';
import { rcloneConfig } from './lib/rclone.ts';
import { SHEBANG_NODE_FLAGS } from './lib/shebang.ts';
import { type Timed, timed } from './lib/timed.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const REFERENCE = join(ROOT, 'bench', 'lib', 'reference-client.mjs');
const MB = 1024 * 1024;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
function textFlag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const MIX_ROWS = flag('objects', 2000);
const THUMB_ROWS = flag('thumbs', 2000);
const SLOW_MIX_ROWS = flag('slow-objects', 400);
const MEMORY_OBJECTS = flag('memory-objects', 64);
const MEMORY_MB = flag('memory-mb', 100);
const REPEAT = flag('repeat', 1);
const WITH_RCLONE = !has('no-rclone');
const ONLY = new Set((textFlag('only') ?? 'lat20,lat100,auto,loopback,rerun,memory').split(','));
if (has('no-memory')) ONLY.delete('memory');
const CPU_PROF_DIR = textFlag('cpu-prof');
const OUT =
  textFlag('out') ??
  join(ROOT, 'bench', 'out', `sync-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

type Tool = 'mastodon-s3-sync' | 'rclone' | 'reference';

interface Row {
  tool: Tool;
  dataset: 'mix' | 'thumbnails' | 'memory';
  mode: string;
  latencyMs: number;
  /** Fixed concurrency, or 'auto'. */
  concurrency: number | 'auto';
  /** With auto: the value the tool chose (at the end) and its highest. */
  chosenConcurrency?: number;
  peakConcurrency?: number;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  mbPerSecond: number;
  requestsPerObject: number | null;
  peakRssMB: number;
  cpuSeconds: number;
  cpuSecondsPer1000: number;
  /** user and sys CPU seconds of the process (cpuSeconds is their sum). */
  userSeconds: number;
  sysSeconds: number;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function check(t: Timed, what: string): Timed {
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}`);
  return t;
}

interface Data {
  name: 'mix' | 'thumbnails';
  db: TestDatabase;
  sourceBucket: string;
  keys: Array<{ key: string; size: number }>;
  keyList: string;
  bytes: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'msst-bench-sync-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: Row[] = [];
  let bucketCount = 0;
  const destBuckets = Array.from({ length: 60 }, (_, i) => `dest-${i}`);
  const nextBucket = () => destBuckets[bucketCount++]!;
  try {
    const servers: [S3Server, S3Server] = await Promise.all([
      startS3Server({
        buckets: ['mix', 'thumbnails', 'slow-mix', 'big'],
        accessKeyId: 'BENCH-SRC',
        secretAccessKey: 'bench-source-secret',
      }),
      startS3Server({
        buckets: destBuckets,
        accessKeyId: 'BENCH-DST',
        secretAccessKey: 'bench-destination-secret',
      }),
    ]);
    cleanups.push(
      () => servers[0].stop(),
      () => servers[1].stop(),
    );

    const prepare = async (
      name: Data['name'],
      sourceBucket: string,
      dataset: ReturnType<typeof mainDataset>,
    ): Promise<Data> => {
      const bytes = dataset.keys.reduce((sum, k) => sum + k.size, 0);
      console.log(
        `seeding ${name} (${sourceBucket}): ${dataset.keys.length} objects, ${(bytes / MB).toFixed(0)} MB …`,
      );
      const db = await seedDatabase(dataset.rows, `msst_bench_${sourceBucket.replace('-', '_')}`);
      cleanups.push(() => db.drop());
      await seedObjects(servers[0], sourceBucket, dataset.keys);
      const keyList = join(work, `${sourceBucket}.keys`);
      writeFileSync(keyList, dataset.keys.map((k) => k.key).join('\n') + '\n');
      return { name, db, sourceBucket, keys: dataset.keys, keyList, bytes };
    };
    // thumbs20 alone (the CPU-per-object case, for quick comparisons) needs no mix.
    const needsMix = [...ONLY].some((group) => group !== 'thumbs20' && group !== 'memory');
    const mix = needsMix ? await prepare('mix', 'mix', mainDataset(MIX_ROWS)) : null;
    const thumbs = await prepare('thumbnails', 'thumbnails', thumbnailDataset(THUMB_ROWS));
    const slowMix = ONLY.has('lat100') ? await prepare('mix', 'slow-mix', mainDataset(SLOW_MIX_ROWS)) : null;

    const proxies = new Map<number, Awaited<ReturnType<typeof startProxyProcess>>[]>();
    for (const latencyMs of [20, 100]) {
      const pair = await Promise.all(
        servers.map((s) => startProxyProcess({ target: s.endpoint, latencyMs })),
      );
      for (const p of pair) cleanups.push(() => p.stop());
      proxies.set(latencyMs, pair);
    }
    const endpointsAt = (latencyMs: number): [string, string] => {
      const pair = proxies.get(latencyMs);
      return pair ? [pair[0]!.endpoint, pair[1]!.endpoint] : [servers[0].endpoint, servers[1].endpoint];
    };
    const counted = async <T>(latencyMs: number, run: () => Promise<T>): Promise<[T, number | null]> => {
      const pair = proxies.get(latencyMs);
      if (!pair) return [await run(), null];
      await Promise.all(pair.map((p) => p.reset()));
      const out = await run();
      const counts = await Promise.all(pair.map((p) => p.count()));
      return [out, counts[0]! + counts[1]!];
    };

    const record = (
      tool: Tool,
      data: Data | { name: 'memory' },
      mode: string,
      latencyMs: number,
      concurrency: number | 'auto',
      objects: number,
      bytes: number,
      t: Timed,
      requests: number | null,
      chosen?: { concurrency: number; concurrencyPeak: number },
    ) => {
      const row: Row = {
        tool,
        dataset: data.name,
        mode,
        latencyMs,
        concurrency,
        ...(chosen ? { chosenConcurrency: chosen.concurrency, peakConcurrency: chosen.concurrencyPeak } : {}),
        objects,
        seconds: round(t.seconds, 2),
        objectsPerSecond: round(objects / t.seconds, 1),
        mbPerSecond: round(bytes / MB / t.seconds, 1),
        requestsPerObject: requests === null ? null : round(requests / objects, 3),
        peakRssMB: round(t.peakRssMB, 1),
        cpuSeconds: round(t.cpuSeconds, 2),
        cpuSecondsPer1000: round((t.cpuSeconds * 1000) / objects, 3),
        userSeconds: round(t.userSeconds, 2),
        sysSeconds: round(t.sysSeconds, 2),
      };
      results.push(row);
      console.log(
        `  ${mode}, ${tool}${concurrency === 'auto' ? ` (auto → ${chosen?.concurrency}, peak ${chosen?.concurrencyPeak})` : ''}: ${row.seconds} s, ${row.objectsPerSecond} obj/s, ${row.cpuSecondsPer1000} CPU s/1000`,
      );
      return row;
    };

    const ours = async (
      data: Data,
      latencyMs: number,
      concurrency: number | 'auto',
      mode: string,
      bucket = nextBucket(),
    ) => {
      const [source, dest] = endpointsAt(latencyMs);
      const ini = join(work, `${bucket}.ini`);
      writeFileSync(ini, iniFor(data.db, source, dest, data.sourceBucket, bucket, servers));
      // --cpu-prof DIR: the same run under `node --cpu-prof` (its CPU figures include the profiler).
      const [command, prefix] = CPU_PROF_DIR
        ? [process.execPath, [...SHEBANG_NODE_FLAGS, '--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR, BIN]]
        : [BIN, []];
      const [t, requests] = await counted(latencyMs, async () =>
        check(
          await timed(command, [
            ...prefix,
            'sync',
            '--config',
            ini,
            '--concurrency',
            String(concurrency),
            '--json',
            '--no-progress',
            '--log-level',
            'warn',
          ]),
          `sync (${mode})`,
        ),
      );
      const summary = JSON.parse(t.stdout) as {
        copied: number;
        skipped: number;
        failed: number;
        missing: number;
        bytes: number;
        concurrency: number;
        concurrencyPeak: number;
      };
      if (summary.failed > 0 || summary.missing > 0)
        throw new Error(`sync (${mode}): ${JSON.stringify(summary)}`);
      return {
        bucket,
        row: record(
          'mastodon-s3-sync',
          data,
          mode,
          latencyMs,
          concurrency,
          data.keys.length,
          summary.bytes,
          t,
          requests,
          concurrency === 'auto' ? summary : undefined,
        ),
      };
    };
    const rclone = async (
      data: Data,
      latencyMs: number,
      concurrency: number,
      mode: string,
      bucket = nextBucket(),
    ) => {
      const [source, dest] = endpointsAt(latencyMs);
      const conf = join(work, `rclone-${bucket}.conf`);
      writeFileSync(conf, rcloneConfig(source, dest, servers));
      const [t, requests] = await counted(latencyMs, async () =>
        check(
          await timed(
            'rclone',
            [
              '--config',
              conf,
              'copy',
              `src:${data.sourceBucket}`,
              `dst:${bucket}`,
              '--files-from',
              data.keyList,
              '--no-traverse',
              '--transfers',
              String(concurrency),
              '--checkers',
              String(concurrency),
              '--s3-no-check-bucket',
            ],
            { AWS_CA_BUNDLE: '' }, // rclone 1.60 fails with this machine's AWS_CA_BUNDLE
          ),
          `rclone (${mode})`,
        ),
      );
      const copied = mode.startsWith('re-run') ? 0 : data.bytes;
      return {
        bucket,
        row: record('rclone', data, mode, latencyMs, concurrency, data.keys.length, copied, t, requests),
      };
    };
    const reference = async (
      data: Data,
      latencyMs: number,
      concurrency: number,
      mode: string,
      { warmUp = false } = {},
    ) => {
      const [source, dest] = endpointsAt(latencyMs);
      const bucket = nextBucket();
      const job = {
        source: {
          endpoint: source,
          bucket: data.sourceBucket,
          accessKeyId: servers[0].accessKeyId,
          secretAccessKey: servers[0].secretAccessKey,
        },
        dest: {
          endpoint: dest,
          bucket,
          accessKeyId: servers[1].accessKeyId,
          secretAccessKey: servers[1].secretAccessKey,
        },
        keyList: data.keyList,
        concurrency,
      };
      const [t, requests] = await counted(latencyMs, async () =>
        check(
          await timed(process.execPath, [...SHEBANG_NODE_FLAGS, REFERENCE, JSON.stringify(job)]),
          `reference (${mode})`,
        ),
      );
      if (warmUp) return null;
      return record(
        'reference',
        data,
        mode,
        latencyMs,
        concurrency,
        data.keys.length,
        data.bytes,
        t,
        requests,
      );
    };
    const all = async (data: Data, latencyMs: number, concurrency: number, mode: string) => {
      await ours(data, latencyMs, concurrency, mode);
      if (WITH_RCLONE) await rclone(data, latencyMs, concurrency, mode);
      await reference(data, latencyMs, concurrency, mode);
    };

    // A warm-up copy of each data set, not measured: the servers' first run after the seeding
    // was measurably slower (whoever ran first, the tool, paid for it).
    console.log('warming up the servers (the reference client, not measured) …');
    for (const data of [...(mix ? [mix] : []), thumbs, ...(slowMix ? [slowMix] : [])])
      await reference(data, 20, 32, `warm-up: ${data.name}`, { warmUp: true });
    console.log('copying …');
    if (ONLY.has('lat20')) {
      await all(mix!, 20, 16, 'mix, +20 ms, c=16');
      await all(thumbs, 20, 32, 'thumbnails, +20 ms, c=32');
    }
    // thumbs20: the thumbnail case at +20 ms only, --repeat N times (CPU per object, quickly).
    if (ONLY.has('thumbs20'))
      for (let round = 1; round <= REPEAT; round++)
        await all(thumbs, 20, 32, `thumbnails, +20 ms, c=32${REPEAT > 1 ? ` #${round}` : ''}`);
    if (ONLY.has('lat100')) {
      await all(slowMix!, 100, 8, 'mix, +100 ms, c=8');
      for (const c of [8, 24, 64]) {
        await ours(thumbs, 100, c, `thumbnails, +100 ms, c=${c}`);
        await reference(thumbs, 100, c, `thumbnails, +100 ms, c=${c}`);
      }
    }
    if (ONLY.has('auto')) {
      await ours(thumbs, 100, 'auto', 'thumbnails, +100 ms, auto');
      await ours(thumbs, 20, 'auto', 'thumbnails, +20 ms, auto');
      for (const c of [16, 64]) await ours(thumbs, 20, c, `thumbnails, +20 ms, c=${c}`);
      await ours(mix!, 20, 'auto', 'mix, +20 ms, auto');
      await ours(mix!, 20, 64, 'mix, +20 ms, c=64');
    }
    if (ONLY.has('loopback')) {
      await ours(mix!, 0, 16, 'mix, loopback, c=16');
      if (WITH_RCLONE) await rclone(mix!, 0, 16, 'mix, loopback, c=16');
    }
    if (ONLY.has('rerun')) {
      const first = await ours(mix!, 20, 16, 'mix, +20 ms, c=16 (for the re-run)');
      await ours(mix!, 20, 16, 're-run: mix, +20 ms, c=16', first.bucket);
      if (WITH_RCLONE) {
        const r = await rclone(mix!, 20, 16, 'mix, +20 ms, c=16 (for the re-run)');
        await rclone(mix!, 20, 16, 're-run: mix, +20 ms, c=16', r.bucket);
      }
    }
    if (ONLY.has('memory')) {
      const memory = memoryDataset(MEMORY_OBJECTS, MEMORY_MB);
      console.log(`memory case: ${MEMORY_OBJECTS} × ${MEMORY_MB} MB at concurrency 64 …`);
      const bigDb = await seedDatabase(memory.rows, 'msst_bench_big');
      cleanups.push(() => bigDb.drop());
      await seedObjects(servers[0], 'big', memory.keys);
      const bucket = nextBucket();
      const ini = join(work, 'big.ini');
      writeFileSync(ini, iniFor(bigDb, servers[0].endpoint, servers[1].endpoint, 'big', bucket, servers));
      const t = check(
        await timed(BIN, [
          'sync',
          '--config',
          ini,
          '--concurrency',
          '64',
          '--json',
          '--no-progress',
          '--log-level',
          'warn',
        ]),
        'sync (memory case)',
      );
      const summary = JSON.parse(t.stdout) as { copied: number; bytes: number };
      record(
        'mastodon-s3-sync',
        { name: 'memory' },
        `memory: ${MEMORY_OBJECTS}×${MEMORY_MB} MB, c=64`,
        0,
        64,
        summary.copied,
        summary.bytes,
        t,
        null,
      );
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
  report(results);
}

function report(results: Row[]): void {
  const header = ['mode', 'tool', 'obj', 's', 'obj/s', 'MB/s', 'req/obj', 'RSS MB', 'CPU s/1000'];
  const lines = results.map((r) => [
    r.mode,
    r.tool + (r.concurrency === 'auto' ? ` (auto→${r.chosenConcurrency})` : ''),
    String(r.objects),
    String(r.seconds),
    String(r.objectsPerSecond),
    String(r.mbPerSecond),
    r.requestsPerObject === null ? '-' : String(r.requestsPerObject),
    String(r.peakRssMB),
    String(r.cpuSecondsPer1000),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${fmt(header)}\n${lines.map(fmt).join('\n')}`);

  const find = (tool: Tool, mode: string) => results.find((r) => r.tool === tool && r.mode === mode);
  const verdicts: string[] = [];
  const target = (name: string, ok: boolean, detail: string) =>
    verdicts.push(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  const ratio = (mode: string, field: 'objectsPerSecond' | 'cpuSecondsPer1000', other: Tool = 'rclone') => {
    const a = find('mastodon-s3-sync', mode);
    const b = find(other, mode);
    return a && b ? a[field] / b[field] : null;
  };

  const mixSpeed = ratio('mix, +20 ms, c=16', 'objectsPerSecond');
  if (mixSpeed !== null)
    target('mix, +20 ms, c=16: objects/s ≥ 1.5× rclone', mixSpeed >= 1.5, `${mixSpeed.toFixed(2)}×`);
  const thumbCpu = ratio('thumbnails, +20 ms, c=32', 'cpuSecondsPer1000');
  if (thumbCpu !== null)
    target(
      'thumbnails, +20 ms, c=32: CPU per object ≤ 0.5× rclone',
      thumbCpu <= 0.5,
      `${thumbCpu.toFixed(2)}×`,
    );
  const thumbCpuRef = ratio('thumbnails, +20 ms, c=32', 'cpuSecondsPer1000', 'reference');
  if (thumbCpuRef !== null)
    verdicts.push(
      `info  thumbnails, +20 ms, c=32: CPU per object ${thumbCpuRef.toFixed(2)}× the reference client's`,
    );
  const slowMix = ratio('mix, +100 ms, c=8', 'objectsPerSecond');
  if (slowMix !== null) verdicts.push(`info  mix, +100 ms, c=8: ${slowMix.toFixed(2)}× rclone's objects/s`);
  for (const c of [8, 24, 64]) {
    const mode = `thumbnails, +100 ms, c=${c}`;
    const r = find('mastodon-s3-sync', mode);
    const ref = find('reference', mode);
    if (!r) continue;
    const limit = c / 0.2;
    const ofLimit = r.objectsPerSecond / limit;
    const ofRef = ref ? r.objectsPerSecond / ref.objectsPerSecond : 0;
    target(
      `${mode}: ≥ 70 % of the latency limit ${limit} obj/s, or ≥ 90 % of the reference`,
      ofLimit >= 0.7 || ofRef >= 0.9,
      `${(100 * ofLimit).toFixed(0)} % of the limit, ${(100 * ofRef).toFixed(0)} % of the reference (${ref?.objectsPerSecond ?? '-'} obj/s)`,
    );
  }
  /** concurrency auto against the best fixed concurrency of the same data set and latency. */
  const autoAgainstFixed = (dataset: Row['dataset'], latencyMs: number) => {
    const ours = results.filter(
      (r) =>
        r.tool === 'mastodon-s3-sync' &&
        r.dataset === dataset &&
        r.latencyMs === latencyMs &&
        !r.mode.startsWith('re-run') &&
        !r.mode.endsWith('(for the re-run)'),
    );
    const auto = ours.find((r) => r.concurrency === 'auto');
    const fixed = ours.filter((r) => r.concurrency !== 'auto');
    if (!auto || fixed.length === 0) return;
    const best = Math.max(...fixed.map((r) => r.objectsPerSecond));
    target(
      `${dataset}, +${latencyMs} ms: auto ≥ 90 % of the best fixed`,
      auto.objectsPerSecond >= 0.9 * best,
      `${auto.objectsPerSecond} vs ${best} obj/s (${((100 * auto.objectsPerSecond) / best).toFixed(0)} %)`,
    );
  };
  autoAgainstFixed('thumbnails', 100);
  autoAgainstFixed('thumbnails', 20);
  autoAgainstFixed('mix', 20);
  const rerun = find('mastodon-s3-sync', 're-run: mix, +20 ms, c=16');
  if (rerun?.requestsPerObject != null)
    target(
      're-run: requests per object ≤ 0.05',
      rerun.requestsPerObject <= 0.05,
      String(rerun.requestsPerObject),
    );
  const memory = results.find((r) => r.dataset === 'memory');
  if (memory) target('memory case: peak RSS < 250 MB', memory.peakRssMB < 250, `${memory.peakRssMB} MB`);
  console.log(`\n${verdicts.join('\n')}`);
  const json = {
    at: new Date().toISOString(),
    mixRows: MIX_ROWS,
    thumbnailRows: THUMB_ROWS,
    results,
    verdicts,
  };
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwritten to ${OUT}`);
  console.log(JSON.stringify(json));
}

await main();
