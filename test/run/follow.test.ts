/**
 * The follow loop with a fake clock and fake passes: positions (moved only for tables without
 * failures, read back with the overlap), when it waits and when it goes on at once, lag, the
 * "caught up" log line, --until, stop and an interrupted pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Logger } from '../../src/log.ts';
import type { TableName } from '../../src/mastodon/types.ts';
import { type FollowStatus, follow, type PassOutcome, sinceOf } from '../../src/run/follow.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const TABLES: TableName[] = ['media_attachments', 'accounts'];

function outcome(partial: Partial<PassOutcome> = {}): PassOutcome {
  return {
    copied: 0,
    skipped: 0,
    missing: 0,
    failed: 0,
    failedTables: [],
    interrupted: false,
    dbSeconds: 0.01,
    ...partial,
  };
}

interface Harness {
  statuses: FollowStatus[];
  sinces: Array<Map<TableName, Date>>;
  saved: Array<Map<TableName, Date>>;
  sleeps: number[];
  logs: string[];
  clock: { now: number };
}

/** Runs follow over scripted passes; each pass takes `passMs` of the fake clock. */
async function run(
  passes: PassOutcome[],
  options: {
    start?: Map<TableName, Date>;
    untilMs?: number;
    passMs?: number;
    stopAfter?: number;
    intervalMs?: number;
  } = {},
) {
  const clock = { now: T0 };
  const stop = new AbortController();
  const h: Harness = { statuses: [], sinces: [], saved: [], sleeps: [], logs: [], clock };
  const log = {
    info: (_o: unknown, message: string) => h.logs.push(message),
    warn: () => {},
    error: () => {},
    debug: () => {},
  } as unknown as Logger;
  let i = 0;
  const result = await follow(
    {
      databaseNow: async () => new Date(clock.now),
      runPass: async (since) => {
        h.sinces.push(new Map(since));
        clock.now += options.passMs ?? 1000;
        const next = passes[i++] ?? outcome();
        if (options.stopAfter !== undefined && i >= options.stopAfter) stop.abort();
        if (i >= passes.length && options.stopAfter === undefined && options.untilMs === undefined)
          stop.abort();
        return next;
      },
      savePositions: (p) => h.saved.push(new Map(p)),
      onStatus: (s) => h.statuses.push(s),
      log,
      sleep: async (ms) => {
        h.sleeps.push(ms);
        clock.now += ms;
      },
      now: () => clock.now,
    },
    {
      tables: TABLES,
      start: options.start ?? new Map(),
      intervalMs: options.intervalMs ?? 30_000,
      overlapMs: 120_000,
      ...(options.untilMs !== undefined ? { untilMs: options.untilMs } : {}),
      stop: stop.signal,
    },
  );
  return { result, h };
}

describe('follow', () => {
  test('the first pass without positions is the bulk pass; later ones read from position - overlap', async () => {
    const { result, h } = await run([outcome({ copied: 500 }), outcome({ skipped: 3 }), outcome()]);
    assert.equal(result.passes, 3);
    assert.equal(h.sinces[0]!.size, 0, 'bulk: no table has a since');
    // Pass 2 starts right after pass 1 (it copied something) from pass 1's start minus 120 s.
    assert.deepEqual(
      [...h.sinces[1]!.values()].map((d) => d.getTime()),
      [T0 - 120_000, T0 - 120_000],
    );
    // Pass 2 (idle) waits; pass 3 is the last (stopped), so no wait after it.
    assert.deepEqual(h.sleeps, [30_000], 'idle passes wait the interval; a busy one does not');
    assert.equal(h.saved.length, 3);
  });

  test('a table with failures keeps its position; the others move on', async () => {
    const start = new Map<TableName, Date>(TABLES.map((t) => [t, new Date(T0 - 3_600_000)]));
    const { h } = await run([outcome({ copied: 2, failed: 1, failedTables: ['accounts'] }), outcome()], {
      start,
    });
    const after = h.saved[0]!;
    assert.equal(after.get('media_attachments')!.getTime(), T0);
    assert.equal(after.get('accounts')!.getTime(), T0 - 3_600_000, 'failed keys are read again');
  });

  test('lag: 0 after a pass with nothing to copy, else the time since the pass started', async () => {
    const { h } = await run([outcome({ copied: 10 }), outcome({ skipped: 10 })], { passMs: 4000 });
    assert.deepEqual(
      h.statuses.map((s) => [s.pass, s.found, s.copied, s.lagSeconds]),
      [
        [1, 10, 10, 4],
        [2, 10, 0, 0],
      ],
    );
    assert.match(h.statuses[0]!.at, /^2026-12-04T10:00:04/);
  });

  test('a long backlog followed by an idle pass logs "caught up" once', async () => {
    const { h } = await run([outcome({ copied: 9000 }), outcome({ copied: 5 }), outcome(), outcome()], {
      passMs: 90_000,
    });
    assert.equal(h.logs.filter((m) => m.includes('caught up')).length, 1);
  });

  test('a pass that only failed waits the interval instead of spinning', async () => {
    const { h } = await run([outcome({ failed: 3, failedTables: ['media_attachments'] }), outcome()]);
    assert.equal(h.sleeps[0], 30_000);
    assert.ok(h.statuses[0]!.lagSeconds > 0, 'failed keys keep the lag above 0');
  });

  test('--until: no pass starts after it, and the last wait is cut to it', async () => {
    const { result, h } = await run([outcome(), outcome(), outcome(), outcome()], {
      untilMs: T0 + 45_000,
      passMs: 1000,
    });
    assert.equal(result.passes, 2);
    assert.deepEqual(h.sleeps, [30_000, 45_000 - 32_000]);
  });

  test('an interrupted pass moves no position and ends the loop', async () => {
    const { result, h } = await run([outcome({ copied: 1 }), outcome({ copied: 1, interrupted: true })], {
      stopAfter: 5,
    });
    assert.equal(result.passes, 2);
    assert.equal(result.interrupted, true);
    assert.equal(h.saved.length, 1);
    assert.equal(h.statuses.length, 1);
  });

  test('sinceOf subtracts the overlap from every position', () => {
    const since = sinceOf(new Map([['accounts', new Date(T0)]]), 5000);
    assert.equal(since.get('accounts')!.getTime(), T0 - 5000);
  });
});
