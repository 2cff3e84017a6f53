#!/usr/bin/env node
// Runs every test/**/*.test.ts through Node's own test runner (with tsx).
// Node 20 does not expand globs and `node --test DIR` silently runs nothing, so the files are
// listed here, and the run fails when none are found.
//
// Coverage: the whole suite (no file filter, no --unit) runs with NODE_V8_COVERAGE set, so
// every process writes V8's coverage — the test files and also the CLIs and workers they
// spawn, which inherit the variable. c8 then maps it through tsx's inline source maps onto
// src/**/*.ts (files never loaded count as 0 %), prints the table, and the run fails when the
// total line coverage is below COVERAGE_MIN_LINES. Spawned CLIs run src/ through tsx for that
// run (MASTODON_S3_SYNC_FROM_SOURCE=1): dist/ has no source maps, so its coverage would not be
// attributed to src/. COVERAGE=1 reports on a filtered run too (no threshold), COVERAGE=0 skips
// coverage. Without c8 installed: one line saying so, and no report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Total line coverage of src/**\/*.ts that the whole suite must reach (percent). */
const COVERAGE_MIN_LINES = Number(process.env.COVERAGE_MIN_LINES ?? 80);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const C8 = join(root, 'node_modules', '.bin', 'c8');

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const unitOnly = process.argv.includes('--unit');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
let files = findTests('test');
if (unitOnly) files = files.filter((f) => !f.includes('.integ.'));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
if (!Number.isFinite(COVERAGE_MIN_LINES)) {
  console.error(`run-tests: COVERAGE_MIN_LINES must be a number, got ${process.env.COVERAGE_MIN_LINES}`);
  process.exit(1);
}

const wholeSuite = filters.length === 0 && !unitOnly;
const coverageWanted = process.env.COVERAGE === '1' || (wholeSuite && process.env.COVERAGE !== '0');
const coverage = coverageWanted && existsSync(C8);
if (coverageWanted && !coverage) {
  console.error('run-tests: c8 is not installed (node_modules/.bin/c8): no coverage report');
}

const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
let rawDir = null;
if (coverage) {
  rawDir = mkdtempSync(join(tmpdir(), 'msst-coverage-'));
  env.NODE_V8_COVERAGE = rawDir;
  env.MASTODON_S3_SYNC_FROM_SOURCE = '1';
}
// Ctrl-C reaches the test runner too; this process stays to remove the raw coverage (which
// grows to hundreds of MB on the whole suite), then exits as interrupted.
process.on('SIGINT', () => {});

const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    // A hung test fails after 5 minutes instead of holding CI until its limit.
    `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 300000}`,
    ...files,
  ],
  { stdio: 'inherit', env },
);
const testSeconds = ((Date.now() - started) / 1000).toFixed(1);

let status = result.status ?? 1;
if (rawDir && result.signal === null) status = Math.max(status, report(rawDir));
if (rawDir) rmSync(rawDir, { recursive: true, force: true });
process.exit(result.signal ? 130 : status);

/** Prints the coverage of src/ and returns 1 when the whole suite's line coverage is too low. */
function report(dir) {
  const reports = join(dir, 'report');
  const c8 = spawnSync(
    C8,
    [
      'report',
      `--temp-directory=${dir}`,
      `--reports-dir=${reports}`,
      '--reporter=text',
      '--reporter=text-summary',
      '--reporter=json-summary',
      '--all',
      '--src=src',
      '--include=src/**/*.ts',
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const summaryPath = join(reports, 'coverage-summary.json');
  if (c8.status !== 0 || !existsSync(summaryPath)) {
    console.error(`run-tests: c8 report failed (exit ${c8.status}): no coverage figure`);
    return 1;
  }
  const lines = JSON.parse(readFileSync(summaryPath, 'utf8')).total.lines;
  const figure = `line coverage of src/ ${lines.pct}% (${lines.covered}/${lines.total})`;
  if (!wholeSuite) {
    console.error(
      `run-tests: ${figure}; threshold not checked on a partial run (tests took ${testSeconds} s)`,
    );
    return 0;
  }
  if (lines.pct < COVERAGE_MIN_LINES) {
    console.error(`run-tests: ${figure} is below COVERAGE_MIN_LINES=${COVERAGE_MIN_LINES}%`);
    return 1;
  }
  console.error(
    `run-tests: ${figure}, at least COVERAGE_MIN_LINES=${COVERAGE_MIN_LINES}% (tests took ${testSeconds} s)`,
  );
  return 0;
}
