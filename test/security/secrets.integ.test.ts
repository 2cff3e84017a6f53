/**
 * Security review, as tests: every command runs against real services with a config full of
 * known secret values (S3 keys, the database password, SSH password and key passphrase, the
 * dashboard password), and no secret may appear anywhere the tool writes: stdout, stderr (text
 * and JSON logs), --report files, dashboard pages and APIs. Also: the dashboard listens on
 * loopback by default, and offers no state-changing endpoint without auth.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import type { S3Server } from '../../dev/s3.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';
import {
  describeRun,
  type RunningCli,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'SEC-SRC-AKIA-7Q2W', secretAccessKey: 'sec-src-Secret-Zx81-Pq' };
const DEST_KEYS = { accessKeyId: 'SEC-DST-AKIA-3E4R', secretAccessKey: 'sec-dst-Secret-Lm52-Nb' };
const DB_PASSWORD = 'db-Passw0rd-Secret-91';
const SSH_PASSWORD = 'ssh-Passw0rd-Secret-17';
const SSH_PASSPHRASE = 'ssh-Phrase-Secret-44';
const DASH_PASSWORD = 'dash-Passw0rd-Secret-62';
const SECRETS = [
  SOURCE_KEYS.secretAccessKey,
  DEST_KEYS.secretAccessKey,
  SOURCE_KEYS.accessKeyId,
  DEST_KEYS.accessKeyId,
  DB_PASSWORD,
  SSH_PASSWORD,
  SSH_PASSPHRASE,
  DASH_PASSWORD,
];

const rows = fakeInstance({ media: 40, seed: 3 });
const keys = referencedKeys(rows);

let world: World;
let db: TestDatabase;
let source: S3Server;
let dest: S3Server;
let ini: string;
let dir: string;
const prefix = testPrefix('secrets');
const running: RunningCli[] = [];
const seen: string[] = [];

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS)
    assert.ok(!text.includes(secret), `${where} shows a secret (${secret.slice(0, 6)}…)`);
}

async function cli(args: string[], expected: number[] = [0]): Promise<CliResult> {
  const result = await runCli([...args, '--config', ini], { timeoutMs: 120_000 });
  assert.ok(expected.includes(result.code ?? -1), `${args.join(' ')}: ${describeRun(result)}`);
  assertNoSecret(result.stdout + result.stderr, args.join(' '));
  seen.push(args[0]!);
  return result;
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_secrets',
    source: { bucket: 'sec-source', keys: SOURCE_KEYS },
    dest: { buckets: ['sec-dest'], keys: DEST_KEYS },
    rows,
    // One key missing at the source, so that reports have content.
    objects: keys.slice(1).map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
  });
  ({ db, source, dest } = world);
  // The test database trusts local connections: the password is in the config, never checked.
  const database = db.iniSection().replace(/^password = .*$/m, `password = ${DB_PASSWORD}`);
  ini = tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, 'sec-source') +
      s3Section('destination', { endpoint: dest.endpoint, ...DEST_KEYS }, 'sec-dest') +
      (database.includes('password =') ? database : `${database.trimEnd()}\npassword = ${DB_PASSWORD}\n\n`) +
      `[pg.tunnel]\nenabled = false\nssh_host = 127.0.0.1\nssh_password = ${SSH_PASSWORD}\nssh_key_passphrase = ${SSH_PASSPHRASE}\n\n` +
      `[queue]\nredis = ${REDIS_URL}\nprefix = ${prefix}\nlock_seconds = 3\n\n` +
      `[dashboard]\nuser = admin\npassword = ${DASH_PASSWORD}\n`,
  );
  dir = join(ini, '..');
});

after(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.done.catch(() => {})));
  removeTempInis();
  await dropPrefix(REDIS_URL, prefix).catch(() => {});
  await world?.stop();
});

describe('no secret in any output', () => {
  it('config check, plan, runbook', async () => {
    const check = await cli(['config', 'check']);
    assert.match(check.stdout, /secret_key = \(set, hidden\)/);
    await cli(['plan']);
    await cli(['plan', '--format', 'ndjson', '--log-level', 'debug', '--log-format', 'json']);
    await cli(['plan', '--format', 'summary']);
    await cli(['runbook']);
  });

  it('sync (text and JSON logs at debug level), its report, verify and its report, orphans', async () => {
    const report = join(dir, 'sync.ndjson');
    await cli(
      ['sync', '--report', report, '--log-level', 'debug', '--log-format', 'json', '--no-progress'],
      [0],
    );
    assert.ok(existsSync(report));
    assertNoSecret(readFileSync(report, 'utf8'), 'the sync report');
    await cli(['sync', '--log-level', 'debug', '--no-progress', '--dry-run']);
    const verifyReport = join(dir, 'verify.ndjson');
    await cli(['verify', '--report', verifyReport, '--log-level', 'debug'], [0, 1]);
    assertNoSecret(readFileSync(verifyReport, 'utf8'), 'the verify report');
    await cli(['orphans', '--log-level', 'debug']);
  });

  it('distributed mode: jobs, worker, status, dashboard pages and APIs, purge', async () => {
    await cli(['jobs', '--log-level', 'debug']);
    const worker = startCli(['worker', '--config', ini, '--log-level', 'debug'], 120_000);
    running.push(worker);
    const dashboard = startCli(
      ['dashboard', '--config', ini, '--port', '0', '--log-level', 'debug'],
      120_000,
    );
    running.push(dashboard);
    let url = '';
    let log = '';
    dashboard.child.stderr!.on('data', (d: Buffer | string) => {
      log += d.toString();
    });
    for (let i = 0; i < 200 && !url; i++) {
      url = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log)?.[1] ?? '';
      await sleep(50);
    }
    assert.ok(url, `dashboard did not start: ${log}`);
    // Loopback by default.
    assert.match(url, /^http:\/\/127\.0\.0\.1:/);
    const auth = { authorization: `Basic ${Buffer.from(`admin:${DASH_PASSWORD}`).toString('base64')}` };
    for (let i = 0; i < 100; i++) {
      const status = JSON.parse((await cli(['status', '--json'])).stdout) as {
        totals: { done: number; keysQueued: number };
      };
      if (status.totals.keysQueued > 0 && status.totals.done === status.totals.keysQueued) break;
      await sleep(300);
    }
    for (const path of [
      '',
      'api/overview',
      'queues',
      'queues/api/queues?activeQueue=media_attachments&status=latest&page=1',
      'queues/api/redis/stats',
      'metrics',
      'api/problems?limit=100',
      'api/samples',
      'api/tables/media_attachments/failed',
      'assets/uplot.js',
    ]) {
      const response = await fetch(`${url}${path}`, { headers: auth });
      assert.equal(response.status, 200, path);
      assertNoSecret(await response.text(), `dashboard /${path}`);
      // Without credentials, every page and endpoint is refused, state-changing ones included.
      assert.equal((await fetch(`${url}${path}`)).status, 401, `/${path} without credentials`);
    }
    for (const [method, path] of [
      ['PUT', 'queues/api/queues/media_attachments/retry/failed'],
      ['PUT', 'queues/api/queues/media_attachments/pause'],
      ['PUT', 'queues/api/queues/media_attachments/clean/completed'],
      ['PUT', 'queues/api/queues/media_attachments/empty'],
      ['POST', 'api/tables/media_attachments/pause'],
      ['POST', 'api/tables/media_attachments/retry-failed'],
    ] as const) {
      assert.equal(
        (await fetch(`${url}${path}`, { method })).status,
        401,
        `${method} /${path} without credentials`,
      );
    }
    worker.child.kill('SIGTERM');
    dashboard.child.kill('SIGTERM');
    for (const run of [worker, dashboard]) {
      const done = await run.done;
      assertNoSecret(done.stdout + done.stderr, 'worker/dashboard logs');
    }
    await cli(['purge', '--yes']);
  });

  it('every command was run', () => {
    for (const command of [
      'config',
      'plan',
      'runbook',
      'sync',
      'verify',
      'orphans',
      'jobs',
      'status',
      'purge',
    ]) {
      assert.ok(seen.includes(command), command);
    }
  });
});
