/**
 * `npm run faults:tally -- --runs 20`: does a run end with nothing failed that one more try
 * would have fixed? Runs `sync` N times through fault-injecting proxies on both stores (10 %
 * of requests: 503 SlowDown, 500, 429, resets before headers and mid-body, truncated bodies;
 * a new seed each run), each into a fresh destination bucket, with the default retry settings
 * ([sync] retries 5, retry_passes 2), and prints per run and in total how many objects ended
 * failed. Not a test (it takes minutes and its numbers are statistical): a tally to read.
 *
 * Flags: --runs N (20), --objects N (about 840), --concurrency N (8), --rate R (0.10),
 * --retry-passes N (default: the config default).
 */
import { fakeInstance, referencedKeys } from '../dev/fake-instance.ts';
import { type FaultRates, startFaultProxy } from '../dev/faults.ts';
import { runCli } from '../test/helpers/cli.ts';
import { removeTempInis, s3Section, tempIni, uniqueBytes } from '../test/helpers/sync-env.ts';
import { startWorld } from '../test/helpers/world.ts';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const RUNS = flag('runs', 20);
const OBJECTS = flag('objects', 840);
const CONCURRENCY = flag('concurrency', 8);
const RATE = flag('rate', 0.1);
const RETRY_PASSES = process.argv.includes('--retry-passes') ? flag('retry-passes', 2) : undefined;

const SOURCE_KEYS = { accessKeyId: 'TALLY-SRC-ACCESS-1', secretAccessKey: 'tally-src-Secret-m1n2b3' };
const DEST_KEYS = { accessKeyId: 'TALLY-DST-ACCESS-2', secretAccessKey: 'tally-dst-Secret-v4c5x6' };

/** The fault test's mix, scaled to RATE in all. */
const MIX = {
  slowDown: 0.2,
  internal: 0.15,
  tooMany: 0.15,
  resetBeforeHeaders: 0.2,
  resetMidBody: 0.15,
  truncated: 0.15,
};
const RATES: FaultRates = Object.fromEntries(
  Object.entries(MIX).map(([kind, share]) => [kind, share * RATE]),
);

async function main(): Promise<void> {
  // About 2.7 keys per media row, counting the other tables the fake instance scales with it.
  const rows = fakeInstance({ media: Math.round(OBJECTS / 2.7), seed: 840 });
  const keys = referencedKeys(rows);
  const buckets = Array.from({ length: RUNS }, (_, i) => `tally-${i}`);
  const world = await startWorld({
    dbPrefix: 'msst_tally',
    source: { bucket: 'tally-source', keys: SOURCE_KEYS },
    dest: { buckets, keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
  });
  const tally: Array<{ run: number; failed: number; retries: number; retriedKeys: number; seconds: number }> =
    [];
  try {
    console.log(
      `${RUNS} runs × ${keys.length} objects, ${Math.round(RATE * 100)} % faults on both stores, concurrency ${CONCURRENCY}`,
    );
    for (let run = 0; run < RUNS; run++) {
      const [sourceFaults, destFaults] = await Promise.all([
        startFaultProxy({ target: world.source.endpoint, rates: RATES, seed: 1000 + run }),
        startFaultProxy({ target: world.dest.endpoint, rates: RATES, seed: 2000 + run }),
      ]);
      try {
        const ini = tempIni(
          s3Section('source', { endpoint: sourceFaults.endpoint, ...SOURCE_KEYS }, 'tally-source') +
            s3Section('destination', { endpoint: destFaults.endpoint, ...DEST_KEYS }, buckets[run]!) +
            world.db.iniSection() +
            (RETRY_PASSES === undefined ? '' : `[sync]\nretry_passes = ${RETRY_PASSES}\n`),
        );
        const result = await runCli(
          [
            'sync',
            '--config',
            ini,
            '--json',
            '--no-progress',
            '--concurrency',
            String(CONCURRENCY),
            '--log-level',
            'error',
          ],
          { timeoutMs: 900_000 },
        );
        const summary = JSON.parse(result.stdout.trim().split('\n').pop() || '{}') as {
          failed?: number;
          retries?: number;
          retriedKeys?: number;
          copied?: number;
        };
        if (summary.copied === undefined)
          throw new Error(`run ${run}: no summary (exit ${result.code}): ${result.stderr.slice(-500)}`);
        const row = {
          run: run + 1,
          failed: summary.failed ?? 0,
          retries: summary.retries ?? 0,
          retriedKeys: summary.retriedKeys ?? 0,
          seconds: Math.round(result.ms / 100) / 10,
        };
        tally.push(row);
        console.log(
          `run ${row.run}: ${row.failed} failed, ${row.retries} retries, ${row.retriedKeys} keys retried on a later pass, ${row.seconds} s (exit ${result.code})`,
        );
      } finally {
        await Promise.all([sourceFaults.stop(), destFaults.stop()]);
      }
    }
  } finally {
    removeTempInis();
    await world.stop();
  }
  const clean = tally.filter((t) => t.failed === 0).length;
  const failed = tally.reduce((sum, t) => sum + t.failed, 0);
  console.log(`\n${clean} of ${tally.length} runs ended with 0 failed; ${failed} object(s) failed in all`);
  console.log(JSON.stringify({ runs: tally.length, clean, failed, objects: keys.length, rate: RATE, tally }));
}

await main();
