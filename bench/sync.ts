/**
 * `npm run bench`: this tool's `sync` against `rclone copy --files-from <plan> --no-traverse`,
 * on the same data in the same run, at the same concurrency.
 *
 * Data: N objects (default 5,000) referenced by a fake Mastodon instance in a throwaway
 * PostgreSQL database, sized like a real bucket (mostly 20–300 KB images and small previews,
 * some 1–10 MB videos and audio, a few 20–40 MB), in a source s3rver; destination buckets on a
 * second s3rver with other credentials (no server-side copy for either tool).
 *
 * Modes: bare loopback (CPU-bound: the s3rver processes share this machine's 2 cores with the
 * clients), and through a proxy adding 20 ms to every request (as real object stores answer
 * in 10–100 ms: there, requests per object and concurrency set the pace). Then a re-run where
 * everything is already there, and a memory case: concurrency 64 copying 100 MB objects.
 *
 * Requests are counted by the loopback proxies both tools talk through; peak RSS and CPU
 * seconds come from GNU time. Prints a table and one JSON line.
 *
 * Flags: --objects N, --concurrency N, --latency MS, --no-memory, --memory-objects N,
 * --memory-mb N, --no-rclone.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyProcess } from '../dev/proxy.ts';
import { type S3Server, startS3Server } from '../dev/s3.ts';
import { iniFor, mainDataset, memoryDataset, seedDatabase, seedObjects } from './lib/dataset.ts';
import { rcloneConfig } from './lib/rclone.ts';
import { type Timed, timed } from './lib/timed.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const MB = 1024 * 1024;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const OBJECTS = flag('objects', 5000);
const CONCURRENCY = flag('concurrency', 16);
const LATENCY_MS = flag('latency', 20);
const MEMORY_OBJECTS = flag('memory-objects', 64);
const MEMORY_MB = flag('memory-mb', 100);
const WITH_MEMORY = !has('no-memory');
const WITH_RCLONE = !has('no-rclone');

interface Row {
  tool: string;
  mode: string;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  mbPerSecond: number;
  requestsPerObject: number;
  peakRssMB: number;
  cpuSeconds: number;
  cpuMsPerObject: number;
}

/** `requests` null: not counted (bare loopback has no proxy in the way). */
function row(
  tool: string,
  mode: string,
  objects: number,
  bytes: number,
  t: Timed,
  requests: number | null,
): Row {
  return {
    tool,
    mode,
    objects,
    seconds: round(t.seconds, 2),
    objectsPerSecond: round(objects / t.seconds, 1),
    mbPerSecond: round(bytes / MB / t.seconds, 1),
    requestsPerObject: requests === null ? Number.NaN : round(requests / objects, 3),
    peakRssMB: round(t.peakRssMB, 1),
    cpuSeconds: round(t.cpuSeconds, 2),
    cpuMsPerObject: round((t.cpuSeconds * 1000) / objects, 3),
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function check(t: Timed, what: string): Timed {
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}`);
  return t;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'msst-bench-sync-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: Row[] = [];
  try {
    const servers: [S3Server, S3Server] = await Promise.all([
      startS3Server({
        buckets: ['source', 'big'],
        accessKeyId: 'BENCH-SRC',
        secretAccessKey: 'bench-source-secret',
      }),
      startS3Server({
        buckets: ['ours-lo', 'rclone-lo', 'ours-lat', 'rclone-lat', 'ours-big'],
        accessKeyId: 'BENCH-DST',
        secretAccessKey: 'bench-destination-secret',
      }),
    ]);
    cleanups.push(
      () => servers[0].stop(),
      () => servers[1].stop(),
    );

    const { rows, keys } = mainDataset(OBJECTS);
    const totalBytes = keys.reduce((sum, k) => sum + k.size, 0);
    console.log(`seeding ${keys.length} objects, ${(totalBytes / MB).toFixed(0)} MB …`);
    const db = await seedDatabase(rows, 'msst_bench_sync');
    cleanups.push(() => db.drop());
    await seedObjects(servers[0], 'source', keys);

    // Bare loopback: straight to the servers. +LATENCY_MS: through a proxy per server, each in
    // its own process (which also counts requests).
    const proxies = await Promise.all([
      startProxyProcess({ target: servers[0].endpoint, latencyMs: LATENCY_MS }),
      startProxyProcess({ target: servers[1].endpoint, latencyMs: LATENCY_MS }),
    ]);
    for (const p of proxies) cleanups.push(() => p.stop());
    const endpoints = {
      lo: [servers[0].endpoint, servers[1].endpoint],
      lat: [proxies[0].endpoint, proxies[1].endpoint],
    };
    const countRequests = async (mode: 'lo' | 'lat') =>
      mode === 'lat' ? (await proxies[0].count()) + (await proxies[1].count()) : null;
    const resetCounts = async () => {
      await Promise.all(proxies.map((p) => p.reset()));
    };

    const keyList = join(work, 'keys.txt');
    writeFileSync(keyList, keys.map((k) => k.key).join('\n') + '\n');

    const ours = async (mode: 'lo' | 'lat', bucket: string, label: string) => {
      const [sourceEndpoint, destEndpoint] = endpoints[mode];
      const ini = join(work, `${bucket}.ini`);
      writeFileSync(ini, iniFor(db, sourceEndpoint!, destEndpoint!, 'source', bucket, servers));
      await resetCounts();
      const t = check(
        await timed(
          process.execPath,
          [
            BIN,
            'sync',
            '--config',
            ini,
            '--concurrency',
            String(CONCURRENCY),
            '--json',
            '--no-progress',
            '--log-level',
            'warn',
          ],
          {
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        ),
        `sync (${label})`,
      );
      const summary = JSON.parse(t.stdout) as {
        copied: number;
        skipped: number;
        failed: number;
        missing: number;
        bytes: number;
      };
      if (summary.failed > 0 || summary.missing > 0)
        throw new Error(`sync (${label}): ${JSON.stringify(summary)}`);
      results.push(row('mastodon-s3-sync', label, keys.length, summary.bytes, t, await countRequests(mode)));
      console.log(
        `  ${label}: mastodon-s3-sync ${t.seconds.toFixed(1)} s (copied ${summary.copied}, skipped ${summary.skipped})`,
      );
    };
    const rclone = async (mode: 'lo' | 'lat', bucket: string, label: string, copiedBytes: number) => {
      const [sourceEndpoint, destEndpoint] = endpoints[mode];
      const conf = join(work, `rclone-${bucket}.conf`);
      writeFileSync(conf, rcloneConfig(sourceEndpoint!, destEndpoint!, servers));
      await resetCounts();
      const env = { ...process.env };
      delete env['AWS_CA_BUNDLE']; // rclone 1.60 fails with this machine's AWS_CA_BUNDLE
      const t = check(
        await timed(
          'rclone',
          [
            '--config',
            conf,
            'copy',
            'src:source',
            `dst:${bucket}`,
            '--files-from',
            keyList,
            '--no-traverse',
            '--transfers',
            String(CONCURRENCY),
            '--checkers',
            String(CONCURRENCY),
            '--s3-no-check-bucket',
          ],
          { ...env, AWS_CA_BUNDLE: '' },
        ),
        `rclone (${label})`,
      );
      results.push(row('rclone', label, keys.length, copiedBytes, t, await countRequests(mode)));
      console.log(`  ${label}: rclone ${t.seconds.toFixed(1)} s`);
    };

    console.log('copying …');
    await ours('lat', 'ours-lat', `first run, +${LATENCY_MS} ms`);
    if (WITH_RCLONE) await rclone('lat', 'rclone-lat', `first run, +${LATENCY_MS} ms`, totalBytes);
    await ours('lo', 'ours-lo', 'first run, loopback');
    if (WITH_RCLONE) await rclone('lo', 'rclone-lo', 'first run, loopback', totalBytes);
    await ours('lat', 'ours-lat', `re-run, +${LATENCY_MS} ms`);
    if (WITH_RCLONE) await rclone('lat', 'rclone-lat', `re-run, +${LATENCY_MS} ms`, 0);

    if (WITH_MEMORY) {
      const memory = memoryDataset(MEMORY_OBJECTS, MEMORY_MB);
      console.log(`memory case: ${MEMORY_OBJECTS} × ${MEMORY_MB} MB at concurrency 64 …`);
      const bigDb = await seedDatabase(memory.rows, 'msst_bench_big');
      cleanups.push(() => bigDb.drop());
      await seedObjects(servers[0], 'big', memory.keys);
      const ini = join(work, 'big.ini');
      writeFileSync(ini, iniFor(bigDb, servers[0].endpoint, servers[1].endpoint, 'big', 'ours-big', servers));
      const t = check(
        await timed(
          process.execPath,
          [
            BIN,
            'sync',
            '--config',
            ini,
            '--concurrency',
            '64',
            '--json',
            '--no-progress',
            '--log-level',
            'warn',
          ],
          {
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        ),
        'sync (memory case)',
      );
      const summary = JSON.parse(t.stdout) as { copied: number; bytes: number };
      results.push(
        row(
          'mastodon-s3-sync',
          `memory: ${MEMORY_OBJECTS}×${MEMORY_MB} MB, c=64`,
          summary.copied,
          summary.bytes,
          t,
          null,
        ),
      );
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
  report(results);
}

function report(results: Row[]): void {
  const header = [
    'tool',
    'mode',
    'objects',
    's',
    'obj/s',
    'MB/s',
    'req/obj',
    'RSS MB',
    'CPU s',
    'CPU ms/obj',
  ];
  const lines = results.map((r) =>
    [
      r.tool,
      r.mode,
      r.objects,
      r.seconds,
      r.objectsPerSecond,
      r.mbPerSecond,
      r.requestsPerObject,
      r.peakRssMB,
      r.cpuSeconds,
      r.cpuMsPerObject,
    ].map((v) => (typeof v === 'number' && Number.isNaN(v) ? '-' : String(v))),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${fmt(header)}\n${lines.map(fmt).join('\n')}`);

  const find = (tool: string, mode: string) =>
    results.find((r) => r.tool === tool && r.mode.startsWith(mode));
  const verdicts: string[] = [];
  const target = (name: string, ok: boolean, detail: string) =>
    verdicts.push(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  const oursLat = find('mastodon-s3-sync', 'first run, +');
  const rcloneLat = find('rclone', 'first run, +');
  const oursLo = find('mastodon-s3-sync', 'first run, loopback');
  const rcloneLo = find('rclone', 'first run, loopback');
  const oursRe = find('mastodon-s3-sync', 're-run');
  if (oursLat && rcloneLat) {
    const ratio = oursLat.objectsPerSecond / rcloneLat.objectsPerSecond;
    target(`objects/s at +${LATENCY_MS} ms ≥ 1.5× rclone`, ratio >= 1.5, `${ratio.toFixed(2)}×`);
  }
  if (oursLo && rcloneLo) {
    const ratio = oursLo.objectsPerSecond / rcloneLo.objectsPerSecond;
    target('objects/s on loopback ≥ 1.1× rclone', ratio >= 1.1, `${ratio.toFixed(2)}×`);
    const cpu = oursLo.cpuMsPerObject / rcloneLo.cpuMsPerObject;
    target('client CPU per object ≤ 1.5× rclone', cpu <= 1.5, `${cpu.toFixed(2)}×`);
  }
  if (oursLat)
    target(
      'requests per object, first run ≤ 2.1',
      oursLat.requestsPerObject <= 2.1,
      String(oursLat.requestsPerObject),
    );
  if (oursRe)
    target(
      'requests per object, re-run ≤ 0.05',
      oursRe.requestsPerObject <= 0.05,
      String(oursRe.requestsPerObject),
    );
  const memory = results.find((r) => r.mode.startsWith('memory'));
  if (memory)
    target('peak RSS in the memory case < 250 MB', memory.peakRssMB < 250, `${memory.peakRssMB} MB`);
  console.log(`\n${verdicts.join('\n')}`);
  console.log(JSON.stringify({ objects: OBJECTS, concurrency: CONCURRENCY, latencyMs: LATENCY_MS, results }));
}

await main();
