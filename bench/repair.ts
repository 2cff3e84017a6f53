/**
 * `npm run bench:repair`: putting right a destination that another tool wrote with the wrong
 * metadata — every object `application/octet-stream`, no Cache-Control, everything public-read,
 * as the original Python tool leaves it — three ways, on the same data in the same run:
 *
 * - `repair`: in place (HEAD + GetObjectAcl per object, one CopyObject-onto-itself or
 *   PutObjectAcl per wrong object; no byte downloaded);
 * - `sync --force`: this tool before `repair` existed — download and upload everything again;
 * - `rclone copy --ignore-times --files-from … --no-traverse` with `--s3-acl public-read` and a
 *   Cache-Control header: rclone's way (everything again; one ACL for the whole run, so
 *   backups and suspended accounts' media stay public).
 *
 * Then `repair` once more on the repaired bucket (everything right: reads only).
 * Every destination request goes through a proxy that adds latency and enforces and answers
 * ACLs as S3 does (s3rver ignores them); the proxies count requests. CPU and peak RSS come from
 * GNU time. Prints a table and one JSON line; `--out FILE` also writes the JSON.
 *
 * Flags: --objects N (default 1500), --concurrency N (16), --latency MS (20), --no-rclone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyProcess } from '../dev/proxy.ts';
import { type S3Server, startS3Server } from '../dev/s3.ts';
import { iniFor, mainDataset, seedDatabase, seedObjects } from './lib/dataset.ts';
import { rcloneConfig } from './lib/rclone.ts';
import { SHEBANG_NODE_FLAGS } from './lib/shebang.ts';
import { type Timed, timed } from './lib/timed.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const MB = 1024 * 1024;
const CACHE_CONTROL = 'public, max-age=315576000, immutable';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const OBJECTS = flag('objects', 1500);
const CONCURRENCY = flag('concurrency', 16);
const LATENCY_MS = flag('latency', 20);
const WITH_RCLONE = !process.argv.includes('--no-rclone');
const OUT = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;

interface Row {
  tool: string;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  bytesMovedMB: number;
  requestsPerObject: number;
  cpuSecondsPer1000: number;
  peakRssMB: number;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function check(t: Timed, what: string): Timed {
  // repair and sync exit 0 here (nothing missing); anything else is a broken benchmark.
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}`);
  return t;
}

function row(tool: string, objects: number, bytes: number, t: Timed, requests: number): Row {
  return {
    tool,
    objects,
    seconds: round(t.seconds, 2),
    objectsPerSecond: round(objects / t.seconds, 1),
    bytesMovedMB: round(bytes / MB, 1),
    requestsPerObject: round(requests / objects, 3),
    cpuSecondsPer1000: round((t.cpuSeconds * 1000) / objects, 2),
    peakRssMB: round(t.peakRssMB, 1),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'msst-bench-repair-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: Row[] = [];
  try {
    const servers: [S3Server, S3Server] = await Promise.all([
      startS3Server({
        buckets: ['source'],
        accessKeyId: 'BENCH-SRC',
        secretAccessKey: 'bench-source-secret',
      }),
      startS3Server({
        buckets: ['repair', 'force', 'rclone'],
        accessKeyId: 'BENCH-DST',
        secretAccessKey: 'bench-destination-secret',
      }),
    ]);
    cleanups.push(
      () => servers[0].stop(),
      () => servers[1].stop(),
    );
    const [sourceProxy, destProxy] = await Promise.all([
      startProxyProcess({ target: servers[0].endpoint, latencyMs: LATENCY_MS }),
      startProxyProcess({ target: servers[1].endpoint, latencyMs: LATENCY_MS, acl: true }),
    ]);
    cleanups.push(
      () => sourceProxy.stop(),
      () => destProxy.stop(),
    );

    const { rows, keys } = mainDataset(OBJECTS);
    const totalBytes = keys.reduce((sum, k) => sum + k.size, 0);
    console.log(
      `seeding ${keys.length} objects (${(totalBytes / MB).toFixed(0)} MB) into the source and 3 destinations …`,
    );
    const db = await seedDatabase(rows, 'msst_bench_repair');
    cleanups.push(() => db.drop());
    await seedObjects(servers[0], 'source', keys);
    // As the original tool leaves a bucket: octet-stream, no Cache-Control, public-read.
    const asTheOriginalTool = {
      endpoint: destProxy.endpoint,
      contentType: 'application/octet-stream',
      acl: 'public-read' as const,
    };
    for (const bucket of ['repair', 'force', ...(WITH_RCLONE ? ['rclone'] : [])])
      await seedObjects(servers[1], bucket, keys, asTheOriginalTool);

    const requests = async () => (await sourceProxy.count()) + (await destProxy.count());
    const reset = () => Promise.all([sourceProxy.reset(), destProxy.reset()]);
    const cli = async (bucket: string, args: string[], label: string) => {
      const ini = join(work, `${bucket}.ini`);
      writeFileSync(
        ini,
        `${iniFor(db, sourceProxy.endpoint, destProxy.endpoint, 'source', bucket, servers)}\n`.replace(
          '[s3.destination]\n',
          `[s3.destination]\ncache_control = ${CACHE_CONTROL}\n`,
        ),
      );
      await reset();
      const t = check(
        await timed(
          process.execPath,
          [
            ...SHEBANG_NODE_FLAGS,
            BIN,
            ...args,
            '--config',
            ini,
            '--concurrency',
            String(CONCURRENCY),
            '--json',
            '--log-level',
            'warn',
          ],
          {
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        ),
        label,
      );
      return {
        t,
        summary: JSON.parse(t.stdout.trim().split('\n').pop()!) as Record<string, unknown>,
        requests: await requests(),
      };
    };

    console.log('repairing …');
    const first = await cli('repair', ['repair'], 'repair');
    if (first.summary['fixed'] !== keys.length) throw new Error(`repair: ${JSON.stringify(first.summary)}`);
    results.push(row('repair (in place)', keys.length, 0, first.t, first.requests));

    const forced = await cli('force', ['sync', '--force', '--no-progress'], 'sync --force');
    results.push(row('sync --force (copy again)', keys.length, totalBytes, forced.t, forced.requests));

    if (WITH_RCLONE) {
      const keyList = join(work, 'keys.txt');
      writeFileSync(keyList, `${keys.map((k) => k.key).join('\n')}\n`);
      const conf = join(work, 'rclone.conf');
      writeFileSync(conf, rcloneConfig(sourceProxy.endpoint, destProxy.endpoint, servers));
      await reset();
      const env = { ...process.env, AWS_CA_BUNDLE: '' }; // rclone 1.60 fails with this machine's AWS_CA_BUNDLE
      const t = check(
        await timed(
          'rclone',
          [
            '--config',
            conf,
            'copy',
            'src:source',
            'dst:rclone',
            '--files-from',
            keyList,
            '--no-traverse',
            '--ignore-times',
            '--s3-acl',
            'public-read',
            '--header-upload',
            `Cache-Control: ${CACHE_CONTROL}`,
            '--transfers',
            String(CONCURRENCY),
            '--checkers',
            String(CONCURRENCY),
            '--s3-no-check-bucket',
          ],
          env,
        ),
        'rclone',
      );
      results.push(row('rclone copy --ignore-times', keys.length, totalBytes, t, await requests()));
    }

    const again = await cli('repair', ['repair'], 'repair (again)');
    if (again.summary['alreadyRight'] !== keys.length)
      throw new Error(`repair again: ${JSON.stringify(again.summary)}`);
    results.push(row('repair, all right (reads only)', keys.length, 0, again.t, again.requests));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
  report(results);
}

function report(results: Row[]): void {
  const header = ['tool', 'objects', 's', 'obj/s', 'MB moved', 'req/obj', 'CPU s/1000', 'RSS MB'];
  const lines = results.map((r) =>
    [
      r.tool,
      r.objects,
      r.seconds,
      r.objectsPerSecond,
      r.bytesMovedMB,
      r.requestsPerObject,
      r.cpuSecondsPer1000,
      r.peakRssMB,
    ].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(
    `\n+${LATENCY_MS} ms per request, concurrency ${CONCURRENCY}\n${fmt(header)}\n${lines.map(fmt).join('\n')}`,
  );
  const repair = results[0]!;
  for (const other of results.slice(1, -1)) {
    console.log(
      `repair vs ${other.tool}: ${(repair.objectsPerSecond / other.objectsPerSecond).toFixed(2)}× the objects/s, ` +
        `${(repair.cpuSecondsPer1000 / other.cpuSecondsPer1000).toFixed(2)}× the CPU per object, no byte moved`,
    );
  }
  const json = JSON.stringify({ latencyMs: LATENCY_MS, concurrency: CONCURRENCY, results });
  console.log(json);
  if (OUT) writeFileSync(OUT, `${json}\n`);
}

await main();
