#!/usr/bin/env node
// Runs every test/**/*.test.ts through Node's own test runner (with tsx).
// Node 20 does not expand globs and `node --test DIR` silently runs nothing, so the files are
// listed here, and the run fails when none are found.
//
// Coverage (c8, when installed): the whole suite (no file filter, no --unit) runs with
// NODE_V8_COVERAGE set, so every process writes V8's coverage — the test files and also the
// CLIs, workers and servers they spawn, which inherit the variable. c8 maps it onto
// src/**/*.ts: through tsx's inline source maps, or, for CLIs that ran dist/ (which has no
// source maps), through a copy of dist/ compiled alongside the tests with source maps (the
// same JavaScript byte for byte, plus the map comment). Files never loaded count as 0 %, files
// of types only are not counted. It prints the table, and the run fails when the total line
// coverage is below COVERAGE_MIN_LINES. COVERAGE=1 reports on a filtered run too (no
// threshold), COVERAGE=0 skips coverage. Without c8: one line saying so, and no report.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Total line coverage of src/**\/*.ts that the whole suite must reach (percent). */
const COVERAGE_MIN_LINES = Number(process.env.COVERAGE_MIN_LINES ?? 95);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const C8 = join(root, 'node_modules', '.bin', 'c8');
const TSC = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

function listFiles(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? listFiles(path, suffix) : e.name.endsWith(suffix) ? [path] : [];
  });
}

/** What bin/mastodon-s3-sync asks before it runs dist/ rather than src/ through tsx. */
function distIsCurrent() {
  const stamp = join(root, 'dist', '.built');
  if (process.env.MASTODON_S3_SYNC_FROM_SOURCE === '1' || !existsSync(stamp)) return false;
  const newest = Math.max(...listFiles(join(root, 'src'), '').map((path) => statSync(path).mtimeMs));
  return statSync(stamp).mtimeMs >= newest;
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

// Raw V8 coverage (hundreds of MB on the whole suite), the part of it about src/, the
// source-mapped copy of dist/, c8's reports, a TAP copy of the results.
const work = coverage ? mkdtempSync(join(tmpdir(), 'msst-coverage-')) : null;
const rawDir = work && join(work, 'raw');
const tapFile = work && join(work, 'results.tap');
const twinDir = work && join(work, 'dist');

const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
let twinBuild = null;
if (coverage) {
  env.NODE_V8_COVERAGE = rawDir;
  // A process killed with SIGKILL (tests end servers and workers so) writes no coverage at
  // exit: every process also writes what it ran so far after 2, 4, 8, … seconds, which only
  // long-running ones live to do (V8 resets the counts each time; c8 adds the files up).
  const flush =
    "import{takeCoverage}from'node:v8';let d=2000;" +
    'const f=()=>{try{takeCoverage()}catch{}d*=2;setTimeout(f,d).unref()};setTimeout(f,d).unref();';
  const preload = `--import=data:text/javascript,${encodeURIComponent(flush)}`;
  env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${preload}`.trim();
  if (distIsCurrent()) {
    twinBuild = new Promise((resolve) => {
      const tsc = spawn(
        process.execPath,
        [TSC, '-p', 'tsconfig.build.json', '--noCheck', '--sourceMap', '--outDir', twinDir],
        { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      tsc.on('error', () => resolve(false));
      tsc.on('close', (code) => resolve(code === 0));
    });
  }
}

// Ctrl-C reaches the test runner too; this process stays to remove its temporary files, then
// exits as interrupted.
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
});

const started = Date.now();
const runner = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    // The coverage table comes after the runner's summary: a TAP copy gives the counts for
    // this script's closing line.
    ...(tapFile
      ? [
          '--test-reporter-destination=stdout',
          '--test-reporter=tap',
          `--test-reporter-destination=${tapFile}`,
        ]
      : []),
    '--test-concurrency=2',
    // A hung test fails after 5 minutes instead of holding CI until its limit.
    `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 300000}`,
    ...files,
  ],
  { stdio: 'inherit', env },
);
const result = await new Promise((resolve) => {
  runner.on('error', (error) => {
    console.error(`run-tests: cannot start the test runner: ${error.message}`);
    resolve({ status: 1, signal: null });
  });
  runner.on('close', (status, signal) => resolve({ status, signal }));
});
const testSeconds = ((Date.now() - started) / 1000).toFixed(1);

let status = result.status ?? 1;
if (work && result.signal === null && !interrupted) {
  status = Math.max(status, await report());
  const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
  const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
  console.error(
    `run-tests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped')} skipped`,
  );
}
if (work) rmSync(work, { recursive: true, force: true });
process.exit(result.signal || interrupted ? 130 : status);

/** src/ files that compile to no JavaScript (types only): never loaded, they are not counted. */
async function typeOnlySources() {
  const ts = (await import('typescript')).default;
  const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, removeComments: true };
  return listFiles(join(root, 'src'), '.ts')
    .filter((path) => {
      const { outputText } = ts.transpileModule(readFileSync(path, 'utf8'), { compilerOptions: options });
      return /^\s*(export\s*\{\s*\};?)?\s*$/.test(outputText);
    })
    .map((path) => relative(root, path));
}

/**
 * Keeps, of every raw coverage file, the scripts of src/ and dist/ (c8 would otherwise hold all
 * of node's and node_modules' in memory at once), pointing dist/ ones at the source-mapped
 * copy. Returns how many dist/ scripts had no identical copy (their coverage is dropped).
 */
function extractProjectCoverage(from, to, twinReady) {
  mkdirSync(to, { recursive: true });
  const srcUrl = pathToFileURL(join(root, 'src')).href + '/';
  const distUrl = pathToFileURL(join(root, 'dist')).href + '/';
  const twinOf = new Map(); // dist URL → copy URL, or null when the copy differs
  const twinUrl = (url) => {
    if (!twinOf.has(url)) {
      const rel = fileURLToPath(url).slice(join(root, 'dist').length + 1);
      const copy = join(twinDir, rel);
      let same = false;
      if (twinReady && existsSync(copy)) {
        const built = readFileSync(fileURLToPath(url), 'utf8');
        const mapped = readFileSync(copy, 'utf8');
        same = mapped.startsWith(built) && /^\/\/# sourceMappingURL=\S+\s*$/.test(mapped.slice(built.length));
      }
      twinOf.set(url, same ? pathToFileURL(copy).href : null);
    }
    return twinOf.get(url);
  };
  for (const name of existsSync(from) ? readdirSync(from) : []) {
    const text = readFileSync(join(from, name), 'utf8');
    if (!text.includes(srcUrl) && !text.includes(distUrl)) continue;
    let raw;
    try {
      raw = JSON.parse(text);
    } catch {
      continue; // a process that died while writing
    }
    const result = [];
    for (const script of raw.result ?? []) {
      if (script.url.startsWith(srcUrl)) result.push(script);
      else if (script.url.startsWith(distUrl) && script.url.endsWith('.js')) {
        const url = twinUrl(script.url);
        if (url) result.push({ ...script, url });
      }
    }
    const maps = Object.fromEntries(
      Object.entries(raw['source-map-cache'] ?? {}).filter(([url]) => url.startsWith(srcUrl)),
    );
    writeFileSync(join(to, name), JSON.stringify({ result, 'source-map-cache': maps }));
  }
  return [...twinOf.values()].filter((url) => url === null).length;
}

/** Prints the coverage of src/ and returns 1 when the whole suite's line coverage is too low. */
async function report() {
  const twinReady = twinBuild ? await twinBuild : false;
  const projectDir = join(work, 'project');
  const unmapped = extractProjectCoverage(rawDir, projectDir, twinReady);
  const typeOnly = await typeOnlySources();
  const reports = join(work, 'report');
  const c8 = spawnSync(
    C8,
    [
      'report',
      `--temp-directory=${projectDir}`,
      `--reports-dir=${reports}`,
      '--reporter=text',
      '--reporter=text-summary',
      '--reporter=json-summary',
      '--all',
      '--src=src',
      '--include=src/**/*.ts',
      ...typeOnly.map((path) => `--exclude=${path}`),
      // Include/exclude apply to the sources the maps lead to (src/), not to the copy of dist/.
      '--exclude-after-remap',
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const summaryPath = join(reports, 'coverage-summary.json');
  if (c8.status !== 0 || !existsSync(summaryPath)) {
    console.error(`run-tests: c8 report failed (exit ${c8.status}): no coverage figure`);
    return 1;
  }
  if (twinBuild && !twinReady) console.error('run-tests: dist/ could not be compiled with source maps');
  if (unmapped > 0) console.error(`run-tests: ${unmapped} dist/ files differ from src/ (not counted)`);
  if (typeOnly.length > 0) console.error(`run-tests: not counted (types only): ${typeOnly.join(', ')}`);
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
