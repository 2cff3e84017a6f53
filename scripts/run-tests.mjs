#!/usr/bin/env node
// Runs every test/**/*.test.ts through Node's own test runner (with tsx).
// Node 20 does not expand globs and `node --test DIR` silently runs nothing, so the files are
// listed here, and the run fails when none are found.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
  { stdio: 'inherit', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
);
process.exit(result.status ?? 1);
