/**
 * The node flags bin/mastodon-s3-sync's shebang (`#!/usr/bin/env -S node <flags>`) gives the
 * tool. Benchmarks that start the tool through `node` (to pass profiling flags, or a preload)
 * and the reference client get the same ones, so every run is measured under the GC settings
 * an admin's run has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mastodon-s3-sync');

export const SHEBANG_NODE_FLAGS: readonly string[] = readFileSync(BIN, 'utf8')
  .split('\n')[0]!
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));
