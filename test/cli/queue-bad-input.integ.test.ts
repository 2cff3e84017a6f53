/**
 * Distributed-mode commands given bad input or an unreachable Redis: one clear line, the right
 * exit code, within seconds, never a secret (the Redis URL's password included).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasStackTrace, runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { freePort } from '../helpers/sshd.ts';
import { describeRun, removeTempInis, tempIni } from '../helpers/sync-env.ts';

const REDIS_PASSWORD = 'redis-Pass-w0rd-q9';
let db: TestDatabase;
let closedPort: number;

before(async () => {
  db = await createTestDatabase('4.6', 'msst_queuebad');
  closedPort = await freePort();
});
after(async () => {
  removeTempInis();
  await db?.drop();
});

function expectClean(result: { stdout: string; stderr: string }) {
  assert.ok(!hasStackTrace(result.stderr), result.stderr);
  assert.ok(
    !`${result.stdout}${result.stderr}`.includes(REDIS_PASSWORD),
    'the Redis password is never shown',
  );
}

describe('distributed mode: bad input', () => {
  it('Redis unreachable: exit 1 quickly (not a hang), naming the address tried (no password)', async () => {
    const ini = tempIni(
      `${db.iniSection()}\n[celery]\nbroker = redis://:${REDIS_PASSWORD}@127.0.0.1:${closedPort}/0\n`,
    );
    for (const command of [['jobs'], ['status'], ['worker'], ['dashboard', '--port', '0']]) {
      const result = await runCli([...command, '--config', ini], { timeoutMs: 20_000 });
      if (command[0] === 'worker') {
        // A worker checks the stores first: without them it stops at the config.
        assert.equal(result.code, 2, describeRun(result));
        assert.match(result.stderr, /\[s3\.source\]/);
      } else {
        assert.equal(result.code, 1, `${command[0]}: ${describeRun(result)}`);
        assert.match(
          result.stderr,
          new RegExp(`Redis at redis://127\\.0\\.0\\.1:${closedPort}/0 unreachable: ECONNREFUSED`),
        );
        // The connect itself gives up at once (refused) or after 5 s (no answer); the bound is
        // loose because a loaded CI machine starts node slowly: it tells a hang from a failure.
        assert.ok(result.ms < 30_000, `${command[0]} took ${result.ms} ms`);
      }
      expectClean(result);
    }
  });

  it('no Redis URL at all: exit 2 naming [queue] redis', async () => {
    const result = await runCli(['jobs', '--config', tempIni(db.iniSection())]);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /\[queue\] redis: distributed mode needs a Redis URL/);
    expectClean(result);
  });

  it('a broker that is not a redis URL: exit 2 naming [celery] broker', async () => {
    const result = await runCli([
      'status',
      '--config',
      tempIni(`[celery]\nbroker = amqp://guest@127.0.0.1//\n`),
    ]);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /\[celery\] broker: expected a redis or rediss URL/);
  });

  it('bad [queue] values: exit 2 naming the key', async () => {
    for (const [key, value] of [
      ['batch_size', '0'],
      ['max_waiting', 'lots'],
      ['prefix', 'has space'],
      ['lock_seconds', '1'],
      ['attempts', '-1'],
    ] as const) {
      const ini = tempIni(`[queue]\nredis = redis://127.0.0.1:${closedPort}/0\n${key} = ${value}\n`);
      const result = await runCli(['status', '--config', ini]);
      assert.equal(result.code, 2, `${key}: ${describeRun(result)}`);
      assert.match(result.stderr, new RegExp(`\\[queue\\] ${key}: `), result.stderr);
    }
  });

  it('purge without --yes: exit 2, nothing touched', async () => {
    const ini = tempIni(`[queue]\nredis = redis://127.0.0.1:${closedPort}/0\n`);
    const result = await runCli(['purge', '--config', ini]);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /--yes/);
  });

  it('dashboard: user without password is refused, naming the key', async () => {
    const ini = tempIni(`[queue]\nredis = redis://127.0.0.1:${closedPort}/0\n\n[dashboard]\nuser = admin\n`);
    const result = await runCli(['dashboard', '--config', ini, '--port', '0']);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /\[dashboard\] password: set both user and password/);
  });
});
