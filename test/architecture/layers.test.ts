/**
 * The dependency direction of src/, checked on every import: data flows DB rows → catalog →
 * copy decisions → stores → stats, and each folder may import only the folders below it.
 * A new back-edge (storage importing Mastodon, lib importing anything) fails here, naming the
 * file and the import. The same table is the README's architecture section.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** What each top-level folder (or file) of src/ may import, besides itself. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  lib: [],
  errors: [],
  log: [],
  mastodon: ['lib'],
  config: ['lib', 'errors'],
  migration: ['storage', 'config', 'lib', 'errors', 'log'],
  storage: ['lib', 'errors', 'log', 'config'],
  db: ['mastodon', 'config', 'lib', 'errors', 'log'],
  transfer: ['storage', 'mastodon', 'config', 'lib', 'errors', 'log'],
  run: ['transfer', 'storage', 'db', 'mastodon', 'config', 'lib', 'errors', 'log'],
  queue: ['run', 'transfer', 'storage', 'db', 'mastodon', 'config', 'lib', 'errors', 'log'],
  metrics: ['queue', 'transfer', 'lib', 'errors', 'log'],
  web: ['metrics', 'queue', 'lib', 'errors', 'log'],
  cli: [
    'web',
    'metrics',
    'queue',
    'run',
    'transfer',
    'storage',
    'db',
    'mastodon',
    'migration',
    'config',
    'lib',
    'errors',
    'log',
  ],
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The top-level folder (or file, without .ts) of src/ a path is in. */
function layerOf(path: string): string {
  return relative(SRC, path).split('/')[0]!.replace(/\.ts$/, '');
}

const IMPORT = /(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g;

describe('layers', () => {
  const files = filesUnder(SRC);
  test('every folder of src/ has a rule', () => {
    const layers = new Set(files.map(layerOf));
    for (const layer of layers) assert.ok(ALLOWED[layer], `no rule for src/${layer}`);
  });
  test('imports go only downwards', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const to = layerOf(resolve(dirname(file), match[1]!));
        if (to !== from && !ALLOWED[from]!.includes(to))
          violations.push(`${relative(SRC, file)} imports ${match[1]} (${from} → ${to})`);
      }
    }
    assert.deepEqual(violations, []);
  });
});
