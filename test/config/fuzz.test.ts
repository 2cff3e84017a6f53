/**
 * Hostile configuration: the shipped sample and the original tool's sample, mutated at random
 * (600 cases from a fixed seed: keys removed, values replaced by wrong types, huge numbers,
 * binary junk, 100 KB strings, sections duplicated or torn apart). Every case is validated the
 * way the commands do it (every section, store and database settings, distributed settings).
 * A case either passes or fails with a ConfigError (exit code 2): one line, naming the file and
 * the section and key (or the line, for a syntax error), never echoing a secret. Anything else —
 * a TypeError, a stack trace, another exit code — fails the test. A few cases also run through
 * the real CLI (`config check`) to see exit 2 and no stack trace on stderr.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { prng } from '../../dev/fake-instance.ts';
import { runConfigCheck } from '../../src/cli/config-check.ts';
import { databaseConfig } from '../../src/config/database.ts';
import { readConfigFile, secretValues } from '../../src/config/load.ts';
import { storeConfig } from '../../src/config/stores.ts';
import { UserError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { queueSettings } from '../../src/queue/settings.ts';
import { hasStackTrace, runCli } from '../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = [
  readFileSync(join(ROOT, 'private', 'config.sample.ini'), 'utf8'),
  readFileSync(join(ROOT, 'test', 'fixtures', 'original-config.sample.ini'), 'utf8'),
];
const dir = mkdtempSync(join(tmpdir(), 'msst-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const JUNK_VALUES = [
  '',
  '-1',
  '0',
  '99999999999999999999999999',
  '1e309',
  'NaN',
  'true',
  'maybe',
  '12abc',
  '0x1F',
  ' 42 ',
  '%',
  '%(nope)s',
  '%(port)s',
  'redis://',
  'http//broken',
  'ftp://127.0.0.1',
  'SECRET-JUNK-Value-7',
  'ünïcødé ☃ 🐘',
  '\u0001\u0002\u0007\u001b[31m',
  '\uFFFD\uFFFD\uFFFD',
  '"quoted"',
  "'single'",
  '[s3.source]',
  '= = =',
  'a'.repeat(100_000),
  '9'.repeat(400),
  '/etc/passwd',
  '../../../../etc/shadow',
  '127.0.0.1:5432',
];

interface Mutation {
  text: string;
  /** The section and key the mutation changed, when it changed one value. */
  target?: { section: string; key: string };
  what: string;
}

function mutate(sample: string, random: () => number): Mutation {
  const lines = sample.split('\n');
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keyLines = lines
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => /^[a-z_]+\s*=/.test(line));
  const sectionOf = (index: number) => {
    for (let i = index; i >= 0; i--) {
      const m = /^\[([^\]]+)\]/.exec(lines[i]!);
      if (m) return m[1]!;
    }
    return '';
  };
  const kind = Math.floor(random() * 8);
  const chosen = pick(keyLines);
  const key = chosen.line.split('=')[0]!.trim();
  const section = sectionOf(chosen.index);
  switch (kind) {
    case 0:
    case 1:
    case 2: {
      const value =
        kind === 2
          ? Buffer.from(Array.from({ length: 12 }, () => Math.floor(random() * 256))).toString('latin1')
          : pick(JUNK_VALUES);
      lines[chosen.index] = `${key} = ${value}`;
      return {
        text: lines.join('\n'),
        target: { section, key },
        what: `${section}.${key} = ${JSON.stringify(value.slice(0, 40))}`,
      };
    }
    case 3:
      lines.splice(chosen.index, 1);
      return { text: lines.join('\n'), target: { section, key }, what: `${section}.${key} removed` };
    case 4: {
      const header = lines.findIndex((l) => l.startsWith(`[${section}]`));
      return {
        text: `${lines.join('\n')}\n[${section}]\n${key} = 1\n`,
        what: `[${section}] twice (line ${header + 1})`,
      };
    }
    case 5:
      lines.splice(chosen.index + 1, 0, `${key} = 2`);
      return { text: lines.join('\n'), what: `${section}.${key} twice` };
    case 6: {
      const header = lines.findIndex((l) => l.startsWith(`[${section}]`));
      if (header >= 0) lines[header] = pick(['', `[${section}`, `${section}]`, '[]', `[ ${section} ]x`]);
      return { text: lines.join('\n'), what: `header of [${section}] torn` };
    }
    default:
      lines.splice(
        Math.floor(random() * lines.length),
        0,
        pick([
          'junk line',
          '=value',
          '\u0000',
          '  indented = continuation',
          `${key}: colon`,
          '[unknown.section]',
        ]),
      );
      return { text: lines.join('\n'), what: 'a junk line' };
  }
}

/** What the commands validate: every section, the stores, the database, distributed mode. */
async function validate(path: string): Promise<void> {
  const file = readConfigFile(path);
  const ctx = { file, log: silentLogger, redact: (t: string) => t };
  const sink = new PassThrough();
  sink.resume();
  await runConfigCheck(ctx, sink);
  for (const role of ['source', 'destination'] as const)
    if (file.sections.has(`s3.${role}`)) storeConfig(file, role);
  if (file.sections.has('pg.database')) databaseConfig(file);
  if (file.sections.has('celery') || file.sections.has('queue')) queueSettings(file);
}

describe('hostile configuration (600 random mutations)', () => {
  const random = prng(20261201);
  const cases = Array.from({ length: 600 }, (_, i) => ({ i, ...mutate(SAMPLES[i % 2]!, random) }));
  let failures = 0;
  let passes = 0;

  it('every case passes or fails as a one-line ConfigError naming file and key (or line)', async () => {
    for (const c of cases) {
      const path = join(dir, `case-${c.i}.ini`);
      writeFileSync(path, c.text);
      try {
        await validate(path);
        passes++;
      } catch (error) {
        failures++;
        assert.ok(error instanceof UserError, `case ${c.i} (${c.what}): ${(error as Error)?.stack}`);
        assert.equal(error.exitCode, 2, `case ${c.i} (${c.what}): exit ${error.exitCode}: ${error.message}`);
        const message = error.message;
        assert.ok(!message.includes('\n'), `case ${c.i}: one line: ${JSON.stringify(message)}`);
        assert.ok(message.startsWith(path), `case ${c.i}: names the file: ${message}`);
        assert.ok(
          /\[[^\]]+\] [a-z_]+:|:\d+: |section \[[^\]]+\] is missing|\[[^\]]+\]: /.test(message),
          `case ${c.i} (${c.what}): names a section and key, or a line: ${message}`,
        );
        if (c.target && message.includes(`[${c.target.section}] `) && !/:\d+: /.test(message)) {
          // A value problem in the mutated section names a key of that section.
          assert.match(message, /\] [a-z_]+: /, `case ${c.i}: ${message}`);
        }
        // Secret values are never echoed (the mutation's junk included, when it went into a secret).
        const file = (() => {
          try {
            return readConfigFile(path);
          } catch {
            return null;
          }
        })();
        for (const secret of file ? secretValues(file) : []) {
          // (Placeholders such as `secret_key` are also key names: they cannot tell.)
          if (secret.length >= 6 && !/^[a-z_]+$/.test(secret))
            assert.ok(!message.includes(secret), `case ${c.i}: echoes a secret: ${message}`);
        }
        assert.ok(message.length < 2000, `case ${c.i}: a short message (${message.length} chars)`);
      }
    }
    // The mutations must actually hurt: most cases are refused, some still pass.
    assert.ok(failures > 300, `${failures} refused of 600`);
    assert.ok(passes > 0);
  });

  it('the real CLI: exit 2, one line, no stack trace (a sample of the refused cases)', async () => {
    const refused = cases.filter((_, i) => i % 37 === 0);
    for (const c of refused) {
      const path = join(dir, `cli-${c.i}.ini`);
      writeFileSync(path, c.text);
      const result = await runCli(['config', 'check', '--config', path]);
      assert.ok(
        result.code === 0 || result.code === 2,
        `case ${c.i} (${c.what}): exit ${result.code}\n${result.stderr}`,
      );
      assert.ok(!hasStackTrace(result.stderr), `case ${c.i}: stack trace\n${result.stderr}`);
      if (result.code === 2) assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });
});
