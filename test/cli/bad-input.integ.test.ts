/**
 * What a user sees when something is wrong: bad or missing config, bad flags, a database that
 * cannot be reached or is not what was expected. Every case: the right exit code (2 for
 * config/usage, 1 for runtime), one clear line on stderr, no stack trace, and no secret from
 * the INI file on stdout or stderr.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, hasStackTrace, runCli, writeIni } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';

/** CLI runs are mostly CPU (tsx start-up): a few per core keep the cores busy without starving any. */
const CONCURRENCY = Math.max(4, 2 * availableParallelism());
const PROGRAM = 'mastodon-s3-sync';
const SECRET = 'S3cr3t-Value-xyz';
const SECRET_KEY = 'S3cr3t-Key-abc';
const SSH_SECRET = 'S3cr3t-Ssh-qrs';
const URL_SECRET = 'S3cr3t-Redis-pw';
const SECRETS = [SECRET, SECRET_KEY, SSH_SECRET, URL_SECRET];
const COMMANDER_HINT = '(run with --help for usage)';

/** Sections with secrets, appended to INI files so that every case checks for leaks. */
const SECRET_SECTIONS = `
[s3.source]
access_key = AKIA-not-secret
secret_key = ${SECRET_KEY}
bucket = source

[pg.tunnel]
enabled = false
ssh_password = ${SSH_SECRET}
`;

let db46: TestDatabase;
let db31: TestDatabase;

function dbSection(db: TestDatabase, overrides: Record<string, string> = {}): string {
  const values: Record<string, string> = {
    host: db.host,
    port: String(db.port),
    user: db.user,
    password: db.password || SECRET,
    database: db.name,
    ...overrides,
  };
  return `[pg.database]\n${Object.entries(values)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n')}\n`;
}

function iniFor(db: TestDatabase, overrides: Record<string, string> = {}): string {
  return writeIni(`${dbSection(db, overrides)}${SECRET_SECTIONS}`);
}

/** A [pg.database] section for a server that is not the test database. */
function iniAt(host: string, port: number, extra: Record<string, string> = {}): string {
  const lines = Object.entries({
    host,
    port: String(port),
    user: 'postgres',
    password: SECRET,
    database: 'mastodon_production',
    ...extra,
  }).map(([key, value]) => `${key} = ${value}`);
  return writeIni(`[pg.database]\n${lines.join('\n')}\n${SECRET_SECTIONS}`);
}

/** stderr lines, without commander's usage hint (a hint, not a second error). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && line.trim() !== COMMANDER_HINT);
}

function assertNoLeak(r: CliResult): void {
  for (const secret of SECRETS) {
    assert.ok(!r.stdout.includes(secret), `secret ${secret} on stdout: ${r.stdout}`);
    assert.ok(!r.stderr.includes(secret), `secret ${secret} on stderr: ${r.stderr}`);
  }
  assert.equal(hasStackTrace(r.stderr), false, r.stderr);
  assert.equal(hasStackTrace(r.stdout), false, r.stdout);
}

/** The common contract of a failure: exit code, one line on stderr matching every pattern, no leak. */
function assertFails(r: CliResult, code: 1 | 2, ...patterns: RegExp[]): string {
  assertNoLeak(r);
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}; stderr: ${r.stderr}`);
  const errors = errorLines(r.stderr);
  assert.equal(errors.length, 1, `one line on stderr, got: ${JSON.stringify(r.stderr)}`);
  const line = errors[0]!;
  assert.ok(line.length < 400, 'the line is short enough to read');
  for (const pattern of patterns) assert.match(line, pattern);
  assert.equal(r.stdout, '', 'nothing on stdout');
  return line;
}

/** A config error: exit 2, `mastodon-s3-sync: <file>...`. */
function assertConfigError(r: CliResult, path: string, ...patterns: RegExp[]): string {
  return assertFails(r, 2, new RegExp(`^${PROGRAM}: ${escapeRegExp(path)}`), ...patterns);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const plan = (ini: string, ...args: string[]) => runCli(['plan', '--config', ini, ...args]);

// ---------------------------------------------------------------------------------------------
// Fake servers for failures the real (trust-authenticated) server cannot produce
// ---------------------------------------------------------------------------------------------

interface FakeServer {
  port: number;
  /** Password messages received from clients. */
  passwords: string[];
  close(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function closer(server: Server, sockets: Set<Socket>) {
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

function pgErrorResponse(code: string, message: string): Buffer {
  const field = (type: string, value: string) => Buffer.from(`${type}${value}\0`, 'utf8');
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', code),
    field('M', message),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * Speaks just enough of the PostgreSQL protocol to ask for a cleartext password and reject
 * it with SQLSTATE 28P01, as a server with password authentication does.
 */
async function fakePasswordRejectingServer(): Promise<FakeServer> {
  const passwords: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let stage: 'startup' | 'password' | 'done' = 'startup';
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      if (stage === 'startup') {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const request = buffer.readInt32BE(4);
        buffer = buffer.subarray(length);
        if (request === 80877103) {
          socket.write('N'); // SSLRequest: no TLS here
          return;
        }
        stage = 'password';
        const auth = Buffer.alloc(9);
        auth.write('R', 0);
        auth.writeInt32BE(8, 1);
        auth.writeInt32BE(3, 5); // AuthenticationCleartextPassword
        socket.write(auth);
      }
      if (stage === 'password') {
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        passwords.push(
          buffer
            .subarray(5, length + 1)
            .toString('utf8')
            .replace(/\0$/, ''),
        );
        stage = 'done';
        socket.end(pgErrorResponse('28P01', 'password authentication failed for user "msst_pw"'));
      }
    });
  });
  const port = await listen(server, sockets);
  return { port, passwords, close: closer(server, sockets) };
}

/** Accepts connections and never answers: a firewall that drops, or a hung server. */
async function silentServer(): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.on('error', () => {});
  });
  const port = await listen(server, sockets);
  return { port, passwords: [], close: closer(server, sockets) };
}

before(async () => {
  [db46, db31] = await Promise.all([
    createTestDatabase('4.6', 'msst_bad'),
    createTestDatabase('3.1', 'msst_bad'),
  ]);
});

after(async () => {
  await Promise.all([db46, db31].filter(Boolean).map((db) => db.drop()));
});

// ---------------------------------------------------------------------------------------------
// Config files
// ---------------------------------------------------------------------------------------------

describe('config file problems (exit 2)', { concurrency: CONCURRENCY }, () => {
  it('--config names a file that does not exist', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'msst-none-')), 'missing.ini');
    const r = await runCli(['plan', '--config', path]);
    assertConfigError(r, path, /config file not found/);
  });

  it('no --config and no private/config.ini in the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'msst-empty-'));
    const r = await runCli(['plan'], { cwd });
    assertConfigError(r, 'private/config.ini', /config file not found/);
  });

  it('CONFIG_FILE_NAME names a file that is not in private/', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'msst-empty-'));
    mkdirSync(join(cwd, 'private'));
    const r = await runCli(['plan'], { cwd, env: { CONFIG_FILE_NAME: 'prod.ini' } });
    assertConfigError(r, 'private/prod.ini', /config file not found/);
  });

  it('CONFIG_FILE names a file that does not exist', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'msst-empty-'));
    const r = await runCli(['plan'], { cwd, env: { CONFIG_FILE: 'nope/config.ini' } });
    assertConfigError(r, 'nope/config.ini', /config file not found/);
  });

  it('--config names a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msst-dir-'));
    const r = await runCli(['plan', '--config', dir]);
    assertConfigError(r, dir, /not a file/);
  });

  it('a line without "=" (the line is not echoed: it may hold a secret)', async () => {
    const path = writeIni(`[pg.database]\nhost = 127.0.0.1\npassword ${SECRET}\n${SECRET_SECTIONS}`);
    const r = await plan(path);
    assertConfigError(r, `${path}:3`, /expected "\[section\]" or "key = value"/);
  });

  it('a key before any section', async () => {
    const path = writeIni(`password = ${SECRET}\n\n[pg.database]\nhost = 127.0.0.1\n${SECRET_SECTIONS}`);
    const r = await plan(path);
    assertConfigError(r, `${path}:1`, /before any \[section\]/);
  });

  it('a duplicate section', async () => {
    const path = writeIni(
      `[pg.database]\npassword = ${SECRET}\n\n[pg.database]\nhost = 127.0.0.1\n${SECRET_SECTIONS}`,
    );
    const r = await plan(path);
    assertConfigError(r, `${path}:4`, /section \[pg\.database\] appears twice/);
  });

  it('a duplicate key', async () => {
    const path = writeIni(
      `[pg.database]\npassword = ${SECRET}\nhost = 127.0.0.1\npassword = ${SECRET}-2\n${SECRET_SECTIONS}`,
    );
    const r = await plan(path);
    assertConfigError(r, `${path}:4`, /key "password" appears twice in \[pg\.database\]/);
  });

  it('no [pg.database] section', async () => {
    const path = writeIni(SECRET_SECTIONS);
    const r = await plan(path);
    assertConfigError(r, path, /section \[pg\.database\] is missing/);
  });

  it('port = abc names the file, the section and the key', async () => {
    const path = iniFor(db46, { port: 'abc' });
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.database\] port: /, /whole number/, /"abc"/);
  });

  it('port out of range', async () => {
    const path = iniFor(db46, { port: '70000' });
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.database\] port: .*1 to 65535/);
  });

  it('an unknown key (a typo of password: its value is not echoed)', async () => {
    const path = writeIni(`[pg.database]\nhost = 127.0.0.1\npasswrd = ${SECRET}\n${SECRET_SECTIONS}`);
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.database\] passwrd: unknown key/, /known keys: .*password/);
  });

  it('an unknown key in [pg.tunnel]', async () => {
    const path = writeIni(`${dbSection(db46)}${SECRET_SECTIONS}ssh_passwd = ${SECRET}\n`);
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.tunnel\] ssh_passwd: unknown key/);
  });

  it('an invalid secret value is reported as hidden', async () => {
    const path = iniFor(db46, { password: `${SECRET}\u0001` });
    const r = await plan(path);
    const line = assertConfigError(r, path, /\[pg\.database\] password: contains control characters/);
    assert.match(line, /\(hidden\)/);
  });

  it('an invalid choice (sslmode)', async () => {
    const path = iniFor(db46, { sslmode: 'maybe' });
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.database\] sslmode: expected one of disable, require/);
  });

  it('config check: an invalid URL that embeds a password does not print the password', async () => {
    const path = writeIni(
      `${dbSection(db46)}${SECRET_SECTIONS}\n[celery]\nbroker = http://:${URL_SECRET}@redis.example:6379/0\n`,
    );
    const r = await runCli(['config', 'check', '--config', path]);
    assertConfigError(r, path, /\[celery\] broker: expected a redis or rediss URL/);
  });

  it('config check: an unparsable redis URL with credentials does not print them', async () => {
    const path = writeIni(
      `${dbSection(db46)}${SECRET_SECTIONS}\n[queue]\nredis = redis://user:${URL_SECRET}@redis.example:notaport/0\n`,
    );
    const r = await runCli(['config', 'check', '--config', path]);
    assertConfigError(r, path, /\[queue\] redis: /);
  });

  it('[pg.tunnel] enabled with an ssh_key file that does not exist names the key', async () => {
    const path = writeIni(
      `${dbSection(db46)}\n[pg.tunnel]\nenabled = true\nssh_host = ssh.example\nssh_password = ${SSH_SECRET}\nssh_key = missing_id_ed25519\n`,
    );
    const r = await plan(path);
    assertConfigError(r, path, /\[pg\.tunnel\] ssh_key: file not found/);
  });
});

describe("the original tool's sample config", { concurrency: CONCURRENCY }, () => {
  const SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'original-config.sample.ini');

  it('loads unchanged: config check exits 0 and hides every secret', async () => {
    const r = await runCli(['config', 'check', '--config', SAMPLE]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hasStackTrace(r.stderr), false, r.stderr);
    const out = r.stdout.split('\n');
    const section = (name: string) => {
      const start = out.findIndex((line) => line.startsWith(`[${name}]`));
      assert.ok(start >= 0, `section [${name}] printed`);
      const end = out.findIndex((line, i) => i > start && line.startsWith('['));
      return out.slice(start + 1, end < 0 ? undefined : end);
    };
    const db = section('pg.database');
    assert.ok(db.includes('  password = (set, hidden)'), db.join('\n'));
    assert.ok(db.includes('  host = 127.0.0.1'));
    assert.ok(db.includes('  port = 5432'));
    assert.ok(db.includes('  user = postgres'));
    assert.ok(db.includes('  database = postgres'));
    for (const store of ['s3.source', 's3.destination']) {
      const lines = section(store);
      assert.ok(lines.includes('  access_key = (set, hidden)'), lines.join('\n'));
      assert.ok(lines.includes('  secret_key = (set, hidden)'), lines.join('\n'));
      assert.ok(lines.includes('  endpoint_url = https://cos.ap-hongkong.myqcloud.com'));
    }
    assert.ok(section('s3.source').includes('  bucket = source-00000'));
    assert.ok(section('s3.destination').includes('  bucket = destination-00000'));
    const tunnel = section('pg.tunnel');
    assert.ok(tunnel.includes('  enabled = true'));
    assert.ok(tunnel.includes('  ssh_password = (empty)'));
    assert.ok(tunnel.includes('  ssh_key = id_ed25519'));
    const celery = section('celery');
    assert.ok(celery.includes('  log_level = debug'));
    assert.ok(celery.includes('  concurrency = 5'));
    // No secret value printed as a value, anywhere.
    assert.doesNotMatch(r.stdout, /= (password|secret_key|access_key)$/m);
    assert.doesNotMatch(r.stderr, /= (password|secret_key|access_key)$/m);
  });

  it('plan with it fails cleanly: the tunnel key file is not there (exit 2, names ssh_key)', async () => {
    const r = await runCli(['plan', '--config', SAMPLE]);
    const line = assertConfigError(r, SAMPLE, /\[pg\.tunnel\] ssh_key: file not found/);
    assert.doesNotMatch(line, /= (password|secret_key)/);
  });
});

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

describe('usage errors (exit 2)', { concurrency: CONCURRENCY }, () => {
  it('unknown TYPE names the known types', async () => {
    const r = await plan(iniFor(db46), 'foo');
    assertFails(
      r,
      2,
      /unknown type "foo"/,
      /media_attachments, accounts, custom_emojis, preview_cards, preview_card_providers, site_uploads, backups, imports/,
    );
  });

  it('one unknown TYPE among known ones', async () => {
    const r = await plan(iniFor(db46), 'accounts', 'avatars');
    assertFails(r, 2, /unknown type "avatars"/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['unknown command', ['bogus'], /unknown command 'bogus'/],
    ['unknown flag', ['plan', '--bogus'], /unknown option '--bogus'/],
    ['--limit abc', ['plan', '--limit', 'abc'], /--limit/],
    ['--limit 0', ['plan', '--limit', '0'], /--limit/],
    ['--limit 1.5', ['plan', '--limit', '1.5'], /--limit/],
    ['--offset -1', ['plan', '--offset', '-1'], /--offset/],
    ['--since-id abc', ['plan', '--since-id', 'abc'], /--since-id/],
    ['--since-id -99', ['plan', '--since-id', '-99'], /--since-id/],
    ['--batch-size 0', ['plan', '--batch-size', '0'], /--batch-size/],
    ['--format xml', ['plan', '--format', 'xml'], /--format/],
    ['--log-format xml', ['--log-format', 'xml', 'plan'], /--log-format/],
    ['--limit without a value', ['plan', '--limit'], /--limit/],
  ];
  for (const [name, args, pattern] of usage) {
    it(name, async () => {
      // A valid config is given: the usage error must win before anything is read.
      const r = await runCli([...args, '--config', iniFor(db46)]);
      assertFails(r, 2, pattern);
    });
  }

  it('config with an unknown action', async () => {
    const r = await runCli(['config', 'frobnicate', '--config', iniFor(db46)]);
    assertFails(r, 2, /unknown config action "frobnicate"/);
  });

  it('no arguments: usage, exit 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assertNoLeak(r);
    assert.match(r.stdout + r.stderr, /Usage: mastodon-s3-sync/);
  });
});

// ---------------------------------------------------------------------------------------------
// Runtime: the database
// ---------------------------------------------------------------------------------------------

describe('database problems (exit 1)', { concurrency: CONCURRENCY }, () => {
  it('unreachable: a closed loopback port, named with host:port, within 10 s', async () => {
    const ini = iniAt('127.0.0.1', 1);
    const r = await plan(ini);
    assertFails(r, 1, /^mastodon-s3-sync: cannot connect to PostgreSQL at /, /127\.0\.0\.1:1\b/, /refused/);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('unreachable via "localhost" (IPv6 and IPv4 both refused)', async () => {
    const r = await plan(iniAt('localhost', 1));
    assertFails(r, 1, /localhost:1\b/, /refused/);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('a host name that does not resolve', async () => {
    const r = await plan(iniAt('no-such-host.invalid', 5432));
    assertFails(r, 1, /no-such-host\.invalid:5432/, /host name not found/);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('a server that never answers: gives up after connect_timeout', async () => {
    const server = await silentServer();
    try {
      const r = await plan(iniAt('127.0.0.1', server.port, { connect_timeout: '1' }));
      assertFails(r, 1, new RegExp(`127\\.0\\.0\\.1:${server.port}\\b`), /connect_timeout/);
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    } finally {
      await server.close();
    }
  });

  it('wrong password (a server that asks for one and rejects it)', async () => {
    const server = await fakePasswordRejectingServer();
    try {
      const r = await plan(iniAt('127.0.0.1', server.port, { user: 'msst_pw' }));
      assertFails(
        r,
        1,
        new RegExp(`msst_pw@127\\.0\\.0\\.1:${server.port}/mastodon_production`),
        /authentication failed/,
        /check \[pg\.database\] user and password/,
      );
      assert.deepEqual(server.passwords, [SECRET], 'the configured password went to the server only');
    } finally {
      await server.close();
    }
  });

  it('a database that does not exist is named', async () => {
    const missing = `msst_missing_${randomBytes(4).toString('hex')}`;
    const r = await plan(iniFor(db46, { database: missing }));
    assertFails(r, 1, new RegExp(`database "${missing}" does not exist`), /\[pg\.database\] database/);
  });

  it('a user that does not exist is named', async () => {
    const user = `msst_nobody_${randomBytes(4).toString('hex')}`;
    const r = await plan(iniFor(db46, { user }));
    assertFails(r, 1, new RegExp(`role "${user}" does not exist`), /\[pg\.database\] user/);
  });

  it('a table that is not shaped like Mastodon’s is refused', async () => {
    const odd = await createTestDatabase(null, 'msst_odd');
    try {
      await odd.client.query('CREATE TABLE accounts (id bigint PRIMARY KEY, name text)');
      const r = await plan(iniFor(odd));
      assertFails(r, 1, /table accounts has no column avatar_file_name/, /Mastodon database/);
    } finally {
      await odd.drop();
    }
  });

  it('a database without any Mastodon table is reported, not listed as empty', async () => {
    const empty = await createTestDatabase(null, 'msst_empty');
    try {
      const r = await plan(iniFor(empty));
      assertNoLeak(r);
      assert.equal(r.code, 1, 'a wrong database/schema must not look like an empty instance');
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /no Mastodon table|not a Mastodon database/i);
    } finally {
      await empty.drop();
    }
  });
});

describe('tables a Mastodon version does not have (warning, exit 0)', { concurrency: CONCURRENCY }, () => {
  for (const [name, table, why] of [
    ['4.6', 'imports', /Mastodon 4\.4 dropped it/],
    ['3.1', 'preview_card_providers', /arrived in Mastodon 3\.5/],
  ] as const) {
    it(`${name}: plan ${table}`, async () => {
      const r = await plan(iniFor(name === '4.6' ? db46 : db31), table);
      assertNoLeak(r);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', 'no keys');
      const warnings = errorLines(r.stderr);
      assert.equal(warnings.length, 1, r.stderr);
      assert.match(warnings[0]!, /warn/);
      assert.match(warnings[0]!, new RegExp(`table ${table} is not in this database`));
      assert.match(warnings[0]!, why);
    });
  }

  it('4.6: plan imports --format summary lists no table', async () => {
    const r = await plan(iniFor(db46), 'imports', '--format', 'summary');
    assertNoLeak(r);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^imports/m);
    assert.match(r.stdout, /^total\s+0\s+0\s/m);
  });

  it('4.6: without TYPE arguments an absent table is skipped silently', async () => {
    const r = await plan(iniFor(db46));
    assertNoLeak(r);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
