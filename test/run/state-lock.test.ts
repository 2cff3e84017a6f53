/**
 * The state file's lock (sync --follow): taken and released, refused while its owner lives,
 * taken over from a dead process or a half-written file, respected from another host, and a
 * directory that cannot hold it is a ConfigError naming the path. Also --until / --interval.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { parseInterval, parseUntil } from '../../src/run/state.ts';
import { acquireStateLock, assertNotFollowed, lockPath } from '../../src/run/state-lock.ts';

function freshState(): string {
  return join(mkdtempSync(join(tmpdir(), 'msst-lock-')), 'config.ini.state.json');
}

/** A pid that surely is not running: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('state lock', () => {
  test('taken, then released: the lock file holds this pid and goes away', () => {
    const state = freshState();
    const release = acquireStateLock(state);
    const owner = JSON.parse(readFileSync(lockPath(state), 'utf8'));
    assert.equal(owner.pid, process.pid);
    assert.equal(owner.host, hostname());
    release();
    assert.equal(existsSync(lockPath(state)), false);
  });

  test('a live owner (another process) makes it a ConfigError naming pid and file', () => {
    const state = freshState();
    writeFileSync(
      lockPath(state),
      JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: '2026-12-04T00:00:00Z' }),
    );
    assert.throws(
      () => acquireStateLock(state),
      (e) =>
        e instanceof ConfigError &&
        /another sync --follow is running/.test(e.message) &&
        e.message.includes(String(process.ppid)),
    );
  });

  test('a dead owner (kill -9) or a half-written lock is taken over', () => {
    for (const text of [JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: 'x' }), '{"pid":']) {
      const state = freshState();
      writeFileSync(lockPath(state), text);
      const release = acquireStateLock(state);
      assert.equal(JSON.parse(readFileSync(lockPath(state), 'utf8')).pid, process.pid);
      release();
    }
  });

  test("the message names the holder's command, whichever command asks", () => {
    const state = freshState();
    const release = acquireStateLock(state, 'jobs --follow');
    try {
      assert.equal(JSON.parse(readFileSync(lockPath(state), 'utf8')).command, 'jobs --follow');
      // Same process: taking it again is allowed; another command reads who holds it.
      writeFileSync(
        lockPath(state),
        JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'x', command: 'jobs --follow' }),
      );
      assert.throws(
        () => acquireStateLock(state, 'sync --follow'),
        (e) => e instanceof ConfigError && /another jobs --follow is running/.test(e.message),
      );
      assert.throws(
        () => assertNotFollowed(state),
        (e) => e instanceof ConfigError && /a jobs --follow \(pid/.test(e.message),
      );
    } finally {
      release();
    }
  });

  test('an owner on another host is respected: the message says which file to remove', () => {
    const state = freshState();
    writeFileSync(lockPath(state), JSON.stringify({ pid: 1, host: 'other-host.example', startedAt: 'x' }));
    assert.throws(
      () => acquireStateLock(state),
      (e) =>
        e instanceof ConfigError && e.message.includes('other-host.example') && e.message.includes('remove'),
    );
  });

  test('a directory that cannot hold the lock: ConfigError naming the path', () => {
    const state = join(freshState(), 'no-such-dir', 'x.state.json');
    assert.throws(
      () => acquireStateLock(state),
      (e) => e instanceof ConfigError && e.message.includes(lockPath(state)),
    );
  });

  test('a lock that is a directory cannot be written: ConfigError', () => {
    const state = freshState();
    mkdirSync(lockPath(state));
    assert.throws(() => acquireStateLock(state), ConfigError);
  });
});

describe('assertNotFollowed (plain sync)', () => {
  test('refused while a live follower holds the lock; fine without one, or with a dead one', () => {
    const state = freshState();
    assertNotFollowed(state);
    writeFileSync(lockPath(state), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'x' }));
    assert.throws(() => assertNotFollowed(state), /a sync --follow \(pid \d+/);
    writeFileSync(lockPath(state), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: 'x' }));
    assertNotFollowed(state);
  });
});

describe('--until and --interval', () => {
  const NOW = Date.parse('2026-12-04T10:00:00Z');
  test('--until: a duration from now, or a future ISO time', () => {
    assert.equal(parseUntil('90m', NOW), NOW + 90 * 60_000);
    assert.equal(parseUntil('2026-12-04T12:00:00Z', NOW), NOW + 2 * 3_600_000);
    assert.equal(parseUntil('2026-12-04 12:00', NOW), NOW + 2 * 3_600_000);
  });
  test('--until: past or unreadable values are ConfigErrors', () => {
    assert.throws(() => parseUntil('2026-12-01T00:00:00Z', NOW), /already past/);
    assert.throws(() => parseUntil('tomorrow', NOW), /--until "tomorrow": expected/);
  });
  test('--interval: units, plain seconds, at least 100 ms', () => {
    assert.equal(parseInterval('30s'), 30_000);
    assert.equal(parseInterval('2m'), 120_000);
    assert.equal(parseInterval('500ms'), 500);
    assert.equal(parseInterval('5'), 5000);
    assert.throws(() => parseInterval('10ms'), ConfigError);
    assert.throws(() => parseInterval('soon'), /--interval "soon"/);
  });
});
