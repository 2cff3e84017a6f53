import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { databaseConfig } from '../../src/config/database.ts';
import { parseIni } from '../../src/config/ini-file.ts';
import {
  type ConfigFile,
  chooseConfigPath,
  getField,
  getSection,
  readConfigFile,
  resolveConfigPath,
  secretValues,
} from '../../src/config/load.ts';
import { renderSample } from '../../src/config/sample.ts';
import { CELERY, DATABASE, DESTINATION, SECTIONS, SOURCE, SYNC, TUNNEL } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeRedactor } from '../../src/log.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function fileFrom(text: string, name = 'test.ini'): ConfigFile {
  const dir = mkdtempSync(join(tmpdir(), 'msst-cfg-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return readConfigFile(path);
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.includes('\n'), 'one line');
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

describe('INI parsing (configparser semantics)', () => {
  test('values are verbatim: inline ; and # stay, quotes stay, true stays text', () => {
    const ini = parseIni('[a]\npassword = abc#123 ;x\nquoted = "q"\nflag = true\nempty =\ncolon: v\n');
    const a = ini.get('a')!;
    assert.equal(a.get('password'), 'abc#123 ;x');
    assert.equal(a.get('quoted'), '"q"');
    assert.equal(a.get('flag'), 'true');
    assert.equal(a.get('empty'), '');
    assert.equal(a.get('colon'), 'v');
  });
  test("configparser interpolation: %% is %, %(key)s another key's value", () => {
    const ini = parseIni('[a]\npassword = pa%%ss\nhost = db\nurl = postgres://%(host)s/x\nlone = 100%\n');
    const a = ini.get('a')!;
    assert.equal(a.get('password'), 'pa%ss');
    assert.equal(a.get('url'), 'postgres://db/x');
    assert.equal(a.get('lone'), '100%');
  });
  test('dotted section names stay whole; keys are case-insensitive', () => {
    const ini = parseIni('[s3.source]\nAccess_Key = x\n');
    assert.equal(ini.get('s3.source')?.get('access_key'), 'x');
  });
  test('comments, BOM, CRLF, continuation lines', () => {
    const ini = parseIni('\uFEFF; c\r\n# c\r\n[a]\r\nk = one\r\n  two\r\n');
    assert.equal(ini.get('a')?.get('k'), 'one\ntwo');
  });
  test('duplicates and junk are errors with a line number', () => {
    assert.throws(() => parseIni('[a]\n[a]\n'), /line|twice/);
    assert.throws(() => parseIni('[a]\nk=1\nk=2\n'), /appears twice/);
    assert.throws(() => parseIni('k = 1\n'), /before any \[section\]/);
    assert.throws(() => parseIni('[a]\njust words\n'), /expected/);
    assert.throws(() => parseIni('[a]\nk = \0\n'), /NUL/);
  });
});

describe('config path resolution', () => {
  test('--config, then CONFIG_FILE, then private/$CONFIG_FILE_NAME, then private/config.ini', () => {
    assert.equal(resolveConfigPath('x.ini', { CONFIG_FILE: 'y.ini' }), 'x.ini');
    assert.equal(resolveConfigPath(undefined, { CONFIG_FILE: 'y.ini', CONFIG_FILE_NAME: 'z.ini' }), 'y.ini');
    assert.equal(resolveConfigPath(undefined, { CONFIG_FILE_NAME: 'z.ini' }), join('private', 'z.ini'));
    assert.equal(resolveConfigPath(undefined, {}), join('private', 'config.ini'));
  });
  test("in Docker, private/config.docker.ini when it exists (the original tool's file), else config.ini", () => {
    const docker = { MASTODON_S3_SYNC_DOCKER: '1' };
    const has = (names: string[]) => (path: string) => names.includes(path);
    const dockerIni = join('private', 'config.docker.ini');
    assert.deepEqual(chooseConfigPath(undefined, docker, has([dockerIni])), {
      path: dockerIni,
      reason: 'Docker: config.docker.ini exists',
    });
    assert.deepEqual(chooseConfigPath(undefined, docker, has([])), {
      path: join('private', 'config.ini'),
      reason: 'Docker: no config.docker.ini',
    });
    // Outside Docker the original tool read config.ini too: a config.docker.ini changes nothing.
    assert.equal(chooseConfigPath(undefined, {}, has([dockerIni])).path, join('private', 'config.ini'));
    // An explicit choice wins, in Docker as anywhere; compose's empty CONFIG_FILE_NAME is unset.
    assert.equal(
      chooseConfigPath(undefined, { ...docker, CONFIG_FILE_NAME: 'x.ini' }, has([dockerIni])).path,
      join('private', 'x.ini'),
    );
    assert.equal(
      chooseConfigPath(undefined, { ...docker, CONFIG_FILE_NAME: '' }, has([dockerIni])).path,
      dockerIni,
    );
    assert.equal(chooseConfigPath('mine.ini', docker, has([dockerIni])).path, 'mine.ini');
  });
  test('a missing file names the path and how to create it', () => {
    const message = configError(() => readConfigFile('/nonexistent/dir/config.ini'));
    assert.match(message, /\/nonexistent\/dir\/config\.ini: config file not found/);
  });
  test('a syntax error names file and line', () => {
    const message = configError(() => fileFrom('[a]\nnonsense\n'));
    assert.match(message, /test\.ini:2: /);
  });
});

describe('section validation', () => {
  test('defaults apply when a section is optional and absent', () => {
    const file = fileFrom('[pg.database]\ndatabase = m\n');
    const sync = getSection(file, SYNC, false);
    assert.equal(sync.retries, 5);
    assert.equal(sync.multipart_threshold, 200 * 1024 * 1024);
    assert.equal(sync.server_side_copy, 'auto');
    assert.equal(getSection(file, TUNNEL, false).enabled, false);
  });
  test('a missing required section is named', () => {
    const file = fileFrom('[celery]\nconcurrency = 2\n');
    assert.match(
      configError(() => getSection(file, DATABASE, true)),
      /section \[pg\.database\] is missing/,
    );
  });
  test('a bad value names file, section and key', () => {
    const file = fileFrom('[pg.database]\nport = abc\n');
    const message = configError(() => getSection(file, DATABASE, true));
    assert.match(
      message,
      /test\.ini: \[pg\.database\] port: expected a whole number from 1 to 65535, got "abc"/,
    );
  });
  test('out-of-range, huge and signed numbers are refused', () => {
    for (const port of ['0', '65536', '99999999999999999999', '-1', '5432.5', '1e3']) {
      const file = fileFrom(`[pg.database]\nport = ${port}\n`);
      assert.match(
        configError(() => getSection(file, DATABASE, true)),
        /\[pg\.database\] port:/,
      );
    }
  });
  test('an unknown key is named with the known ones', () => {
    const file = fileFrom('[pg.database]\nhots = x\n');
    assert.match(
      configError(() => getSection(file, DATABASE, true)),
      /\[pg\.database\] hots: unknown key \(known keys: host,/,
    );
  });
  test('booleans accept configparser words', () => {
    for (const [word, value] of [
      ['yes', true],
      ['On', true],
      ['1', true],
      ['false', false],
      ['no', false],
    ] as const) {
      assert.equal(getSection(fileFrom(`[pg.tunnel]\nenabled = ${word}\n`), TUNNEL, false).enabled, value);
    }
    assert.match(
      configError(() => getSection(fileFrom('[pg.tunnel]\nenabled = maybe\n'), TUNNEL, false)),
      /enabled: expected true or false/,
    );
  });
  test('choices are case-insensitive; sizes take units', () => {
    const file = fileFrom(
      '[celery]\nlog_level = DEBUG\n[sync]\nmultipart_threshold = 64MB\npart_size = 5m\n',
    );
    assert.equal(getSection(file, CELERY, false).log_level, 'debug');
    const sync = getSection(file, SYNC, false);
    assert.equal(sync.multipart_threshold, 64 * 1024 * 1024);
    assert.equal(sync.part_size, 5 * 1024 * 1024);
    assert.match(
      configError(() => getSection(fileFrom('[sync]\npart_size = 1KB\n'), SYNC, false)),
      /part_size: expected a size/,
    );
  });
  test('an empty acl is kept (no ACL header), not replaced by the default', () => {
    assert.equal(getField(fileFrom('[s3.destination]\nacl =\n'), DESTINATION, 'acl'), '');
    assert.equal(getField(fileFrom('[s3.destination]\nbucket = b\n'), DESTINATION, 'acl'), 'public-read');
  });
  test('URLs are checked for scheme', () => {
    assert.match(
      configError(() => getSection(fileFrom('[s3.source]\nendpoint_url = ftp://x\n'), SOURCE, true)),
      /endpoint_url: expected a https or http URL/,
    );
    assert.match(
      configError(() => getSection(fileFrom('[celery]\nbroker = not a url\n'), CELERY, false)),
      /broker: expected a URL/,
    );
  });
  test('control characters and binary junk are refused, and shown escaped', () => {
    const message = configError(() =>
      getSection(fileFrom('[pg.database]\nhost = a\u0001b\n'), DATABASE, true),
    );
    assert.match(message, /host: contains control characters, got "a\?b"/);
  });
});

describe('secrets', () => {
  test('a bad secret value is never echoed', () => {
    const file = fileFrom('[pg.database]\npassword = S3cr3t-Value\u0001\n');
    const message = configError(() => getSection(file, DATABASE, true));
    assert.match(message, /password: contains control characters, got \(hidden\)/);
    assert.ok(!message.includes('S3cr3t'));
  });
  test('secretValues lists every secret in the file, and the redactor hides them and URL passwords', () => {
    const file = fileFrom(
      '[s3.source]\naccess_key = AKIAEXAMPLE1\nsecret_key = S3cr3t-Key\n[pg.database]\npassword = S3cr3t-Pw\n[pg.tunnel]\nssh_password = S3cr3t-Ssh\n',
    );
    const secrets = secretValues(file);
    assert.deepEqual(new Set(secrets), new Set(['AKIAEXAMPLE1', 'S3cr3t-Key', 'S3cr3t-Pw', 'S3cr3t-Ssh']));
    const redact = makeRedactor(secrets);
    assert.equal(redact('k=S3cr3t-Key pw=S3cr3t-Pw'), 'k=*** pw=***');
    assert.equal(redact('redis://:hunter2@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0');
  });
});

describe('database settings', () => {
  test('tunnel: enabled needs ssh_host and a key or password; fingerprint format checked', () => {
    const base = '[pg.database]\ndatabase = m\n[pg.tunnel]\nenabled = true\n';
    assert.match(
      configError(() => databaseConfig(fileFrom(base))),
      /\[pg\.tunnel\] ssh_host: missing/,
    );
    assert.match(
      configError(() => databaseConfig(fileFrom(`${base}ssh_host = h\n`))),
      /\[pg\.tunnel\] ssh_key: set ssh_key or ssh_password/,
    );
    assert.match(
      configError(() =>
        databaseConfig(fileFrom(`${base}ssh_host = h\nssh_password = p\nhost_fingerprint = MD5:aa\n`)),
      ),
      /host_fingerprint: expected SHA256:/,
    );
  });
  test('tunnel: the key file is resolved next to the config file, and a missing one is named', () => {
    const file = fileFrom(
      '[pg.database]\ndatabase = m\n[pg.tunnel]\nenabled = true\nssh_host = h\nssh_key = id_ed25519\n',
    );
    const message = configError(() => databaseConfig(file));
    assert.match(message, /\[pg\.tunnel\] ssh_key: file not found: .*\/id_ed25519/);
  });
  test('disabled tunnel and defaults', () => {
    const config = databaseConfig(
      fileFrom('[pg.database]\nhost = db\ndatabase = m\n[pg.tunnel]\nenabled = false\n'),
    );
    assert.equal(config.tunnel, null);
    assert.equal(config.port, 5432);
    assert.equal(config.ssl, false);
    assert.equal(config.batchSize, 1000);
  });
});

describe('samples', () => {
  test("the original tool's sample loads unchanged: every section validates", () => {
    const file = readConfigFile(join(ROOT, 'test', 'fixtures', 'original-config.sample.ini'));
    for (const def of SECTIONS) getSection(file, def, false);
    assert.equal(getSection(file, DATABASE, true).port, 5432);
    assert.equal(getSection(file, TUNNEL, false).enabled, true);
    assert.equal(getSection(file, TUNNEL, false).local_port, 5432);
    assert.equal(getSection(file, CELERY, false).concurrency, 5);
    assert.equal(getSection(file, SOURCE, true).bucket, 'source-00000');
  });
  test('private/config.sample.ini is generated from the schema and loads', () => {
    const path = join(ROOT, 'private', 'config.sample.ini');
    assert.equal(readFileSync(path, 'utf8'), renderSample(), 'stale sample: run npm run gen:sample');
    const file = readConfigFile(path);
    for (const def of SECTIONS) getSection(file, def, true);
  });
});
