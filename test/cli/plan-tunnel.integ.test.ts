/**
 * `plan` through a real OpenSSH server: the CLI, spawned as a user would run it, reaches the
 * real PostgreSQL only through the tunnel (the INI's database host is as seen from the SSH
 * server), and refuses a server whose host key it cannot verify.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { hasStackTrace, runCli, writeIni } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { startSshd, type TestSshd } from '../helpers/sshd.ts';

const SECRET = 'S3cr3t-Tunnel-Pw-xyz';

describe('plan through the SSH tunnel', () => {
  let db: TestDatabase;
  let sshd: TestSshd;

  before(async () => {
    // Sequential, so a failing sshd start cannot leave a database connection holding the
    // test process open.
    sshd = await startSshd();
    db = await createTestDatabase('4.6');
    await db.client.query(
      `INSERT INTO custom_emojis (id, shortcode, domain, image_file_name, image_content_type, created_at, updated_at)
       VALUES (28691, 'blob', NULL, '6de008d6281f4f59.png', 'image/png', now(), now())`,
    );
  });
  after(async () => {
    await Promise.all([db?.drop(), sshd?.stop()]);
  });

  function ini(tunnelExtra: string, keyPath = sshd.clientKeyPath): string {
    return writeIni(
      `[pg.database]
host = ${db.host}
port = ${db.port}
user = ${db.user}
password = ${SECRET}
database = ${db.name}

[pg.tunnel]
enabled = true
ssh_host = 127.0.0.1
ssh_port = ${sshd.port}
ssh_user = ${sshd.user}
ssh_key = ${keyPath}
local_host = 127.0.0.1
local_port = 0
${tunnelExtra}
`,
    );
  }

  const expected = [
    'custom_emojis/images/000/028/691/original/6de008d6281f4f59.png',
    'custom_emojis/images/000/028/691/static/6de008d6281f4f59.png',
  ];

  test('lists the keys with a pinned host fingerprint', async () => {
    const result = await runCli([
      'plan',
      '--config',
      ini(`host_fingerprint = ${sshd.hostFingerprint}`),
      'custom_emojis',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), expected);
  });

  test('lists the keys with a known_hosts file', async () => {
    const knownHosts = writeIni(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`, 'known_hosts');
    const result = await runCli(['plan', '--config', ini(`known_hosts = ${knownHosts}`), 'custom_emojis']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), expected);
  });

  test('refuses a wrong host fingerprint, showing both', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const result = await runCli(['plan', '--config', ini(`host_fingerprint = ${wrong}`)]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(wrong) && result.stderr.includes(sshd.hostFingerprint), result.stderr);
    assert.ok(!hasStackTrace(result.stderr));
    assert.ok(!result.stderr.includes(SECRET));
  });

  test('refuses an unverified server', async () => {
    const result = await runCli(['plan', '--config', ini('')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /host_fingerprint|known_hosts/);
    assert.ok(!hasStackTrace(result.stderr));
  });

  test('refuses a client key the server does not accept', async () => {
    const result = await runCli([
      'plan',
      '--config',
      ini(`host_fingerprint = ${sshd.hostFingerprint}`, sshd.unauthorizedKeyPath),
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /auth/i);
    assert.ok(result.stderr.trim().split('\n').length <= 2, result.stderr);
    assert.ok(!hasStackTrace(result.stderr));
  });

  test('a passphrase-protected key works with ssh_key_passphrase', async () => {
    const path = ini(
      `host_fingerprint = ${sshd.hostFingerprint}\nssh_key_passphrase = correct horse battery staple`,
      sshd.encryptedKeyPath,
    );
    const result = await runCli(['plan', '--config', path, 'custom_emojis']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), expected);
    writeFileSync(path, ''); // the INI held a passphrase
  });
});
