/**
 * openTunnel through a real OpenSSH server (loopback only) to the real PostgreSQL.
 * Needs /usr/sbin/sshd, ssh-keygen, root, and PostgreSQL at 127.0.0.1:5432 with trust auth
 * (or TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { openTunnel, type Tunnel, type TunnelOptions } from '../../src/db/tunnel.ts';
import { ConfigError, ServiceError } from '../../src/errors.ts';
import { CLIENT_KEY_PASSPHRASE, freePort, startSshd, type TestSshd } from '../helpers/sshd.ts';

const run = promisify(execFile);

const DB = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const REMOTE_HOST = DB.hostname;
const REMOTE_PORT = Number(DB.port || 5432);
const PASSWORD = 'hunter2-not-a-real-password';
const OTHER_FP = 'SHA256:43sBnWDEgDgi/DN1SM0bBgdNISz1KS1xGwM7++ykrxk';

/** SELECT 1 through the tunnel with node-postgres. */
async function selectOne(tunnel: { host: string; port: number }): Promise<number> {
  const client = new pg.Client({
    host: tunnel.host,
    port: tunnel.port,
    user: decodeURIComponent(DB.username) || 'postgres',
    password: decodeURIComponent(DB.password) || undefined,
    database: DB.pathname.slice(1) || 'postgres',
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    const res = await client.query<{ one: number }>('SELECT 1 AS one');
    return res.rows[0]!.one;
  } finally {
    await client.end();
  }
}

/** Rejects with the error openTunnel threw, checking its class and that no secret leaked. */
async function openFails(sshd: TestSshd, opts: TunnelOptions, cls: typeof ServiceError | typeof ConfigError) {
  const started = Date.now();
  const err = await openTunnel(opts).then(
    async (t) => {
      await t.close();
      assert.fail('openTunnel should have failed');
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  const message = (err as Error).message;
  assert.doesNotMatch(message, /\n/, 'one line');
  for (const secret of [PASSWORD, CLIENT_KEY_PASSPHRASE, ...(await keyMaterial(sshd))]) {
    assert.ok(!message.includes(secret), `message leaks a secret: ${message}`);
  }
  return { message, ms: Date.now() - started, err: err as ServiceError };
}

/** Lines of base64 from every private key file (none may ever appear in a message). */
async function keyMaterial(sshd: TestSshd): Promise<string[]> {
  const files = [sshd.clientKeyPath, sshd.unauthorizedKeyPath, sshd.encryptedKeyPath];
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
}

function listenOn(port: number): Promise<Server> {
  const srv = createServer();
  srv.listen(port, '127.0.0.1');
  return once(srv, 'listening').then(() => srv);
}

describe('openTunnel through a real sshd', () => {
  let sshd: TestSshd;
  const open: Tunnel[] = [];
  const base = (): TunnelOptions => ({
    sshHost: '127.0.0.1',
    sshPort: sshd.port,
    sshUser: sshd.user,
    privateKey: sshd.clientKey,
    privateKeyPath: sshd.clientKeyPath,
    remoteHost: REMOTE_HOST,
    remotePort: REMOTE_PORT,
    localHost: '127.0.0.1',
    localPort: 0,
    readyTimeoutMs: 5000,
  });
  const tunnel = async (opts: TunnelOptions) => {
    const t = await openTunnel(opts);
    open.push(t);
    return t;
  };
  const knownHostsFile = async (name: string, text: string) => {
    const path = join(sshd.dir, name);
    await writeFile(path, text);
    return path;
  };

  before(async () => {
    // Two host keys: ed25519 (what ssh2 asks for first) and RSA (for the known_hosts preference test).
    sshd = await startSshd({ hostKeyTypes: ['ed25519', 'rsa'] });
  });
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
    await sshd?.stop();
  });

  test('works with the right fingerprint: SELECT 1, also on parallel connections', async () => {
    const t = await tunnel({ ...base(), hostFingerprint: sshd.hostFingerprint });
    assert.equal(t.host, '127.0.0.1');
    assert.ok(t.port > 0);
    assert.equal(await selectOne(t), 1);
    assert.deepEqual(await Promise.all([selectOne(t), selectOne(t), selectOne(t)]), [1, 1, 1]);
    assert.equal(t.lastError?.(), undefined);
    await t.close();
  });

  test('a fingerprint with = padding is accepted too', async () => {
    const t = await tunnel({ ...base(), hostFingerprint: `${sshd.hostFingerprint}=` });
    assert.equal(await selectOne(t), 1);
    await t.close();
  });

  test('works with a plain known_hosts entry in [127.0.0.1]:PORT form', async () => {
    const file = await knownHostsFile(
      'known_hosts_plain',
      `# test\nother.example.org ${sshd.hostPublicKeyLine}\n[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`,
    );
    const t = await tunnel({ ...base(), knownHostsFile: file });
    assert.equal(await selectOne(t), 1);
    await t.close();
  });

  test('works with a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const file = await knownHostsFile(
      'known_hosts_hashed',
      `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`,
    );
    await run('ssh-keygen', ['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^\|1\|/, 'ssh-keygen hashed the entry');
    assert.ok(!text.includes('127.0.0.1'));
    const t = await tunnel({ ...base(), knownHostsFile: file });
    assert.equal(await selectOne(t), 1);
    await t.close();
  });

  test('asks for the host key type known_hosts has (RSA only, server also has ed25519)', async () => {
    const file = await knownHostsFile(
      'known_hosts_rsa',
      `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLines['rsa']}\n`,
    );
    const t = await tunnel({ ...base(), knownHostsFile: file });
    assert.equal(await selectOne(t), 1);
    await t.close();
  });

  test('refuses a wrong fingerprint, naming expected and actual', async () => {
    const { message } = await openFails(sshd, { ...base(), hostFingerprint: OTHER_FP }, ServiceError);
    assert.ok(message.includes(OTHER_FP), message);
    assert.ok(message.includes(sshd.hostFingerprint), message);
    assert.match(message, /127\.0\.0\.1:\d+/);
  });

  test('refuses when known_hosts has a different key for the host, or none', async () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYCFgRiC5k2IePHOkwkdfAHhzkoSVF5bD4IXaGjy9sM';
    const changed = await knownHostsFile('known_hosts_changed', `[127.0.0.1]:${sshd.port} ${other}\n`);
    const r1 = await openFails(sshd, { ...base(), knownHostsFile: changed }, ServiceError);
    assert.match(r1.message, /different ssh-ed25519 key/);
    assert.ok(r1.message.includes(changed) && r1.message.includes(sshd.hostFingerprint), r1.message);

    // Only a port-22 entry: does not cover this port.
    const wrongPort = await knownHostsFile('known_hosts_port22', `127.0.0.1 ${sshd.hostPublicKeyLine}\n`);
    const r2 = await openFails(sshd, { ...base(), knownHostsFile: wrongPort }, ServiceError);
    assert.match(r2.message, /no ssh-ed25519 key for \[127\.0\.0\.1\]:\d+/);

    const missing = await openFails(sshd, { ...base(), knownHostsFile: join(sshd.dir, 'nope') }, ConfigError);
    assert.match(missing.message, /known_hosts.*nope.*ENOENT/);
  });

  test('refuses when neither host_fingerprint nor known_hosts is configured', async () => {
    const { message } = await openFails(sshd, base(), ServiceError);
    assert.match(message, /host_fingerprint/);
    assert.match(message, /known_hosts/);
    assert.ok(message.includes(sshd.hostFingerprint), 'prints the fingerprint to verify');
  });

  test('rejects a malformed host_fingerprint as a config error', async () => {
    const { message, err } = await openFails(sshd, { ...base(), hostFingerprint: 'MD5:ab:cd' }, ConfigError);
    assert.equal(err.exitCode, 2);
    assert.match(message, /host_fingerprint/);
  });

  test('refuses a client key the server does not accept', async () => {
    const { message } = await openFails(
      sshd,
      {
        ...base(),
        hostFingerprint: sshd.hostFingerprint,
        privateKey: sshd.unauthorizedKey,
        privateKeyPath: sshd.unauthorizedKeyPath,
      },
      ServiceError,
    );
    assert.match(message, /authentication failed/);
    assert.ok(message.includes(`"${sshd.user}"`), message);
    assert.ok(message.includes(`127.0.0.1:${sshd.port}`), message);
    assert.ok(message.includes(sshd.unauthorizedKeyPath), message);
  });

  test('a rejected password is named but never printed', async () => {
    const opts = { ...base(), hostFingerprint: sshd.hostFingerprint, sshPassword: PASSWORD };
    delete opts.privateKey;
    delete opts.privateKeyPath;
    const { message } = await openFails(sshd, opts, ServiceError);
    assert.match(message, /authentication failed.*rejected the password/);
  });

  test('works with a passphrase-protected key', async () => {
    const t = await tunnel({
      ...base(),
      hostFingerprint: sshd.hostFingerprint,
      privateKey: sshd.encryptedKey,
      privateKeyPath: sshd.encryptedKeyPath,
      passphrase: CLIENT_KEY_PASSPHRASE,
    });
    assert.equal(await selectOne(t), 1);
    await t.close();
  });

  test('a wrong or missing passphrase is a clear config error', async () => {
    const opts = {
      ...base(),
      hostFingerprint: sshd.hostFingerprint,
      privateKey: sshd.encryptedKey,
      privateKeyPath: sshd.encryptedKeyPath,
    };
    const wrong = await openFails(sshd, { ...opts, passphrase: 'not the passphrase' }, ConfigError);
    assert.match(wrong.message, /wrong passphrase/);
    assert.ok(wrong.message.includes(sshd.encryptedKeyPath));
    assert.ok(!wrong.message.includes('not the passphrase'));
    const missing = await openFails(sshd, opts, ConfigError);
    assert.match(missing.message, /encrypted.*passphrase/);
  });

  test('a public key or garbage instead of a private key is a config error', async () => {
    const pub = await readFile(`${sshd.clientKeyPath}.pub`);
    const r1 = await openFails(sshd, { ...base(), privateKey: pub, privateKeyPath: 'id.pub' }, ConfigError);
    assert.match(r1.message, /id\.pub is not a private key/);
    const opts = { ...base(), privateKey: Buffer.from('nonsense') };
    delete opts.privateKeyPath;
    const r2 = await openFails(sshd, opts, ConfigError);
    assert.match(r2.message, /cannot read the SSH private key/);
  });

  test('connection refused fails fast, naming host:port', async () => {
    const port = await freePort();
    const { message, ms } = await openFails(
      sshd,
      { ...base(), sshPort: port, hostFingerprint: sshd.hostFingerprint },
      ServiceError,
    );
    assert.ok(message.includes(`127.0.0.1:${port}`), message);
    assert.match(message, /connection refused/);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  test('a server that never speaks SSH times out, naming host:port', async () => {
    const silent = createServer(() => {}); // accepts, says nothing
    const sockets = new Set<Socket>();
    silent.on('connection', (s) => sockets.add(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    try {
      const { message, ms } = await openFails(
        sshd,
        { ...base(), sshPort: port, hostFingerprint: sshd.hostFingerprint, readyTimeoutMs: 500 },
        ServiceError,
      );
      assert.ok(message.includes(`127.0.0.1:${port}`), message);
      assert.match(message, /timed out/);
      assert.ok(ms < 3000, `took ${ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test('a local port already in use is a clear error', async () => {
    const port = await freePort();
    const blocker = await listenOn(port);
    try {
      const { message } = await openFails(
        sshd,
        { ...base(), localPort: port, hostFingerprint: sshd.hostFingerprint },
        ServiceError,
      );
      assert.ok(message.includes(`127.0.0.1:${port}`), message);
      assert.match(message, /already in use/);
    } finally {
      blocker.close();
    }
  });

  test('close() is idempotent and frees the local port', async () => {
    const port = await freePort();
    const t = await tunnel({ ...base(), localPort: port, hostFingerprint: sshd.hostFingerprint });
    assert.equal(t.port, port);
    // A connection left open must not keep close() waiting.
    const idle = new pg.Client({ host: t.host, port: t.port, user: 'postgres', database: 'postgres' });
    idle.on('error', () => {});
    await idle.connect().catch(() => {});
    await Promise.all([t.close(), t.close()]);
    await t.close();
    await idle.end().catch(() => {});
    const srv = await listenOn(port); // would throw EADDRINUSE if the tunnel still held it
    srv.close();
  });

  test('a forward the SSH server cannot make closes the local connection and is reported', async () => {
    const closed = await freePort();
    const t = await tunnel({ ...base(), remotePort: closed, hostFingerprint: sshd.hostFingerprint });
    await assert.rejects(selectOne(t));
    const err = t.lastError?.();
    assert.ok(err instanceof ServiceError);
    assert.ok(err.message.includes(`127.0.0.1:${closed}`), err.message);
    await t.close();
  });
});

test('when the SSH connection drops, new local connections fail at once', async () => {
  const sshd = await startSshd();
  let t: Tunnel | undefined;
  try {
    t = await openTunnel({
      sshHost: '127.0.0.1',
      sshPort: sshd.port,
      sshUser: sshd.user,
      privateKey: sshd.clientKey,
      hostFingerprint: sshd.hostFingerprint,
      remoteHost: REMOTE_HOST,
      remotePort: REMOTE_PORT,
      localHost: '127.0.0.1',
      localPort: 0,
    });
    assert.equal(await selectOne(t), 1);
    await sshd.dropConnections(); // kills the session process: the connection drops
    // The client notices the dropped connection: wait for lastError to say so.
    for (let i = 0; i < 100 && t.lastError?.() === undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(t.lastError?.() instanceof ServiceError, 'drop is reported');
    const started = Date.now();
    await assert.rejects(selectOne(t));
    assert.ok(Date.now() - started < 2000, 'fails at once, no hang');
  } finally {
    await t?.close();
    await sshd.stop();
  }
});
