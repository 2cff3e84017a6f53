/**
 * `npm run bench:plan`: how fast, and in how much memory, `plan media_attachments` lists keys.
 *
 * Creates a throwaway database on the real PostgreSQL (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) with the Mastodon 4.6 schema, seeds
 * media_attachments server-side (bench/lib/seed.ts), and runs the real CLI
 * `plan --config FILE media_attachments` at 100,000 rows and then, after adding the rest, at
 * --rows (default 1,000,000), so memory flatness as rows grow is visible.
 *
 * Each size is measured twice over:
 * - stdout to /dev/null (the headline numbers, and the targets' PASS/FAIL);
 * - stdout through a pipe read by this process, as `plan | rclone copy --files-from -` runs
 *   it: the lines are counted, which checks the CLI listed exactly the keys the SQL count
 *   expects, and backpressure on stdout is exercised (writes to /dev/null never wait).
 *
 * Reports wall seconds, keys (computed in SQL from the catalog's rules), keys/s, peak RSS and
 * CPU seconds (user + sys) of the CLI process, a table, one JSON line per size, and PASS/FAIL
 * against the issue's targets (informational: the exit code is 0 unless something crashed).
 *
 * Options (flags, or env):
 *   --rows N          largest size (BENCH_ROWS, default 1000000); the first size is min(N, 100000)
 *   --keep            keep the database afterwards (BENCH_KEEP=1) and print where its config is
 *   --batch-size N    passed to the CLI (default: the config default)
 *   --repeat N        /dev/null runs per size, the median reported (BENCH_REPEAT, default 1)
 *   --cpu-prof DIR    run the /dev/null CLI runs with `node --cpu-prof --cpu-prof-dir DIR`
 *   --no-pipe         skip the pipe runs (and so the line-count check)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../test/helpers/pg.ts';
import { CliFailed, hasGnuTime, type RunResult, runCli, stopRunning } from './lib/measure.ts';
import { describeMix, expectedMediaKeys, seedMediaAttachments } from './lib/seed.ts';

const TARGET_KEYS_PER_SECOND = 100_000;
const TARGET_PEAK_RSS_MB = 120;
/** Peak RSS may grow by this fraction from the smallest to the largest size and still be "flat". */
const FLAT_TOLERANCE = 0.2;
const FIRST_SIZE = 100_000;

type StdoutMode = '/dev/null' | 'pipe';

interface Measurement {
  rows: number;
  keys: number;
  stdout: StdoutMode;
  seconds: number;
  keysPerSecond: number;
  /** Keys/s with the startup baseline (node + tsx + connect + introspect) taken out. */
  steadyKeysPerSecond: number;
  peakRssMB: number;
  cpuSeconds: number;
  seedSeconds: number;
  /** 1-minute load average just before the run(s): other work on the machine skews wall times. */
  load: number;
  /** Node warnings the CLI printed on stderr (e.g. MaxListenersExceededWarning). */
  warnings: string[];
}

type Options = ReturnType<typeof options>;

function options() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
      repeat: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-pipe': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:plan -- [--rows N] [--keep] [--batch-size N] [--repeat N] [--cpu-prof DIR] [--no-pipe]\n',
    );
    process.exit(0);
  }
  const whole = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`--${name}: expected a whole number ≥ 1, got ${text}`);
    return n;
  };
  const rows = whole('rows', values.rows ?? process.env['BENCH_ROWS'], 1_000_000);
  return {
    sizes: [...new Set([Math.min(FIRST_SIZE, rows), rows])],
    keep: values.keep || process.env['BENCH_KEEP'] === '1',
    batchSize: values['batch-size'] === undefined ? null : whole('batch-size', values['batch-size'], 1),
    repeat: whole('repeat', values.repeat ?? process.env['BENCH_REPEAT'], 1),
    cpuProfDir: values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']),
    pipe: !values['no-pipe'],
  };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const value = await work();
  return [value, Number(process.hrtime.bigint() - started) / 1e9];
}

function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function warningsIn(stderr: string): string[] {
  const found = stderr.match(/\b\w*Warning\b:[^\n]*/g) ?? [];
  return [...new Set(found.map((w) => w.trim()))];
}

function describeRun(run: RunResult): string {
  return `${fmt(run.seconds, 2)} s, ${fmt(run.peakRssMB, 1)} MB peak RSS, ${fmt(run.cpuSeconds, 2)} s CPU (user ${fmt(run.userSeconds, 2)}, sys ${fmt(run.sysSeconds, 2)})`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  let db: TestDatabase | null = null;
  let iniDir: string | null = null;
  let interrupted = false;
  let cleaning: Promise<void> | null = null;

  // Once only, whoever gets here first: the normal end, a failure, or Ctrl-C / SIGTERM.
  const cleanUp = (): Promise<void> => {
    cleaning ??= dropEverything();
    return cleaning;
  };
  const dropEverything = async () => {
    stopRunning();
    if (iniDir && !opts.keep) rmSync(iniDir, { recursive: true, force: true });
    if (db && !opts.keep) {
      const name = db.name;
      await db.drop().catch((error: Error) => log(`could not drop database ${name}: ${error.message}`));
      log(`dropped database ${name}`);
    } else if (db) {
      log(`kept database ${db.name}; config: ${join(iniDir!, 'config.ini')}`);
      await db.client.end().catch(() => {});
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: stopping`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    log(
      `resource usage via ${hasGnuTime() ? '/usr/bin/time (GNU time)' : 'process.resourceUsage() preload'}`,
    );
    db = await createTestDatabase('4.6', 'msst_bench');
    log(`database ${db.name}`);
    iniDir = mkdtempSync(join(tmpdir(), 'msst-bench-ini-'));
    const ini = join(iniDir, 'config.ini');
    writeFileSync(ini, db.iniSection());

    const planArgs = ['plan', '--config', ini, 'media_attachments'];
    if (opts.batchSize !== null) planArgs.push('--batch-size', String(opts.batchSize));
    const nodeFlags = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];

    const results: Measurement[] = [];
    let seeded = 0;
    let startup: RunResult | null = null;
    for (const size of opts.sizes) {
      log(`seeding rows ${fmt(seeded + 1)}..${fmt(size)}`);
      const [, seedSeconds] = await timed(() => seedMediaAttachments(db!.client, seeded + 1, size));
      seeded = size;
      const expected = await expectedMediaKeys(db.client);
      log(
        `seeded in ${fmt(seedSeconds, 1)} s: ${fmt(expected.rows)} rows, ${fmt(expected.keys)} keys expected`,
      );
      if (expected.rows !== size) throw new Error(`seeded ${expected.rows} rows, wanted ${size}`);

      if (startup === null) {
        log(`mix: ${await describeMix(db.client)}`);
        // Warm tsx's transform cache, then time startup alone: node + tsx + connect + introspect + one row.
        await runCli([...planArgs, '--limit', '1']);
        startup = await runCli([...planArgs, '--limit', '1']);
        log(`startup baseline (--limit 1): ${describeRun(startup)}`);
      }

      const load = loadavg()[0]!;
      if (load > availableParallelism()) {
        log(
          `note: load average ${fmt(load, 1)} on ${availableParallelism()} CPUs: other work is running, wall times will be noisy`,
        );
      }
      const measurement = (stdout: StdoutMode, run: RunResult, warnings: string[]): Measurement => ({
        rows: size,
        keys: expected.keys,
        stdout,
        seconds: run.seconds,
        keysPerSecond: expected.keys / run.seconds,
        steadyKeysPerSecond: expected.keys / Math.max(run.seconds - startup!.seconds, 1e-9),
        peakRssMB: run.peakRssMB,
        cpuSeconds: run.cpuSeconds,
        seedSeconds,
        load,
        warnings,
      });

      const runs: RunResult[] = [];
      for (let i = 0; i < opts.repeat; i++) {
        log(`plan media_attachments > /dev/null at ${fmt(size)} rows (run ${i + 1}/${opts.repeat})`);
        const run = await runCli(planArgs, { nodeFlags });
        log(`  ${describeRun(run)}`);
        runs.push(run);
      }
      results.push(
        measurement('/dev/null', median(runs), [...new Set(runs.flatMap((r) => warningsIn(r.stderr)))]),
      );

      if (opts.pipe) {
        log(`plan media_attachments | (count lines) at ${fmt(size)} rows`);
        const run = await runCli(planArgs, { countLines: true });
        log(`  ${describeRun(run)}`);
        if (run.lines !== expected.keys) {
          throw new Error(`the CLI listed ${run.lines} keys, the SQL count expects ${expected.keys}`);
        }
        log(`  verified: the CLI listed exactly ${fmt(expected.keys)} keys`);
        results.push(measurement('pipe', run, warningsIn(run.stderr)));
      }
    }

    report(results, startup!, opts);
  } catch (error) {
    await cleanUp();
    // Interrupted: the signal handler exits with 130 once the database is dropped.
    if (interrupted) return new Promise<void>(() => {});
    throw error;
  }
  await cleanUp();
}

function report(results: Measurement[], startup: RunResult, opts: Options): void {
  const out: string[] = [''];
  out.push(
    `plan media_attachments  (batch size ${opts.batchSize ?? 'default'}; /dev/null: median of ${opts.repeat} run(s)${opts.cpuProfDir ? ', WITH --cpu-prof' : ''})`,
  );
  out.push(
    table(
      [
        'rows',
        'stdout',
        'keys',
        'wall s',
        'keys/s',
        'keys/s excl. startup',
        'peak RSS MB',
        'CPU s',
        'keys/CPU s',
        'CPU % of wall',
        'load',
        'seed s',
      ],
      results.map((r) => [
        fmt(r.rows),
        r.stdout,
        fmt(r.keys),
        fmt(r.seconds, 2),
        fmt(r.keysPerSecond),
        fmt(r.steadyKeysPerSecond),
        fmt(r.peakRssMB, 1),
        fmt(r.cpuSeconds, 2),
        fmt(r.keys / r.cpuSeconds),
        fmt((100 * r.cpuSeconds) / r.seconds),
        fmt(r.load, 1),
        fmt(r.seedSeconds, 1),
      ]),
    ),
  );
  out.push(
    'CPU s = user + sys of the CLI process; CPU % of wall well below 100 means it waits (on PostgreSQL); ' +
      `load = 1-min load average before the run (${availableParallelism()} CPUs)`,
  );
  out.push(
    `startup baseline (--limit 1): ${fmt(startup.seconds, 2)} s wall, ${fmt(startup.peakRssMB, 1)} MB, ${fmt(startup.cpuSeconds, 2)} s CPU`,
  );
  for (const r of results) {
    for (const warning of r.warnings)
      out.push(`warning from the CLI (${fmt(r.rows)} rows, stdout ${r.stdout}): ${warning}`);
  }

  out.push('');
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const primary = results.filter((r) => r.stdout === '/dev/null');
  for (const r of primary) {
    out.push(
      `${verdict(r.keysPerSecond >= TARGET_KEYS_PER_SECOND)}  ${fmt(r.rows)} rows: ${fmt(r.keysPerSecond)} keys/s (target ≥ ${fmt(TARGET_KEYS_PER_SECOND)}, end to end, stdout /dev/null)`,
    );
    out.push(
      `${verdict(r.peakRssMB < TARGET_PEAK_RSS_MB)}  ${fmt(r.rows)} rows: peak RSS ${fmt(r.peakRssMB, 1)} MB (target < ${TARGET_PEAK_RSS_MB} MB)`,
    );
  }
  for (const mode of ['/dev/null', 'pipe'] as const) {
    const rows = results.filter((r) => r.stdout === mode);
    if (rows.length < 2) continue;
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const growth = (last.peakRssMB - first.peakRssMB) / first.peakRssMB;
    out.push(
      `${verdict(growth <= FLAT_TOLERANCE)}  peak RSS flat as rows grow (stdout ${mode}): ${fmt(first.peakRssMB, 1)} MB at ${fmt(first.rows)} → ${fmt(last.peakRssMB, 1)} MB at ${fmt(last.rows)} rows (${growth >= 0 ? '+' : ''}${fmt(100 * growth, 1)} %, tolerance ${100 * FLAT_TOLERANCE} %)`,
    );
  }

  out.push('');
  for (const r of results) {
    const numbers = {
      rows: r.rows,
      keys: r.keys,
      seconds: Number(r.seconds.toFixed(3)),
      keysPerSecond: Math.round(r.keysPerSecond),
      peakRssMB: Number(r.peakRssMB.toFixed(1)),
      cpuSeconds: Number(r.cpuSeconds.toFixed(3)),
    };
    // The /dev/null lines are the headline numbers; pipe lines say so.
    out.push(JSON.stringify(r.stdout === 'pipe' ? { ...numbers, stdout: 'pipe' } : numbers));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  if (error instanceof CliFailed) log(error.message);
  else log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
