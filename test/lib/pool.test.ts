/**
 * AdaptivePool (bounded concurrency and backlog, AIMD limit), Semaphore and RateLimiter.
 * Tasks are released by hand (deferred promises), so every assertion counts, never times.
 */
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { AdaptivePool, WINDOW_MS } from '../../src/lib/pool.ts';
import { RateLimiter } from '../../src/lib/rate.ts';
import { Semaphore } from '../../src/lib/semaphore.ts';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (several macrotask turns). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Tasks that record concurrency and finish when released. */
function tracker() {
  const state = { running: 0, peak: 0, started: 0, finished: 0, gates: [] as Deferred[] };
  const task = () => async () => {
    const gate = deferred();
    state.gates.push(gate);
    state.running++;
    state.started++;
    state.peak = Math.max(state.peak, state.running);
    try {
      await gate.promise;
    } finally {
      state.running--;
      state.finished++;
    }
  };
  /** Releases the oldest unreleased running tasks. */
  let released = 0;
  const release = (n = Number.POSITIVE_INFINITY) => {
    while (n-- > 0 && released < state.gates.length) state.gates[released++]!.resolve();
  };
  return { state, task, release };
}

describe('AdaptivePool', () => {
  for (const [concurrency, backlog, tasks] of [
    [1, 0, 10],
    [3, 2, 40],
    [8, 100, 100],
  ] as const) {
    test(`never runs more than ${concurrency} at once (backlog ${backlog}, ${tasks} tasks)`, async () => {
      const pool = new AdaptivePool({ concurrency, backlog });
      const { state, task, release } = tracker();
      let submitted = 0;
      const producer = (async () => {
        for (let i = 0; i < tasks; i++) {
          await pool.submit(task());
          submitted++;
        }
      })();
      // Release tasks a few at a time until everything ran.
      while (state.finished < tasks) {
        await settle();
        assert.ok(state.running <= concurrency, `${state.running} running`);
        assert.ok(pool.active <= concurrency);
        release(2);
      }
      await producer;
      await pool.drain();
      assert.equal(submitted, tasks);
      assert.equal(state.started, tasks);
      assert.equal(state.peak, Math.min(concurrency, tasks));
    });
  }

  test('submit() waits while the backlog is full', async () => {
    const pool = new AdaptivePool({ concurrency: 2, backlog: 3 });
    const { state, task, release } = tracker();
    let accepted = 0;
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await pool.submit(task());
        accepted++;
      }
    })();
    await settle();
    // 2 running + 3 queued accepted; the 6th submit is blocked.
    assert.equal(state.running, 2);
    assert.equal(accepted, 5);
    release(1);
    await settle();
    assert.equal(accepted, 6, 'one finished task makes room for one more');
    assert.equal(state.running, 2);
    release(2); // both running tasks
    await settle();
    assert.equal(accepted, 8);
    assert.equal(state.running, 2);
    assert.equal(state.started, 5);
    while (state.finished < 10) {
      release();
      await settle();
      assert.ok(state.running <= 2);
    }
    await producer;
    await pool.drain();
    assert.equal(accepted, 10);
    assert.equal(state.finished, 10);
  });

  test('backlog 0: submit() waits until a slot is free', async () => {
    const pool = new AdaptivePool({ concurrency: 1, backlog: 0 });
    const { state, task, release } = tracker();
    await pool.submit(task());
    let second = false;
    const pending = pool.submit(task()).then(() => {
      second = true;
    });
    await settle();
    assert.equal(second, false);
    assert.equal(state.running, 1);
    release(1);
    await pending;
    assert.equal(second, true);
    await settle();
    release();
    await pool.drain();
    assert.equal(state.finished, 2);
  });

  test('drain() waits for every task, including ones queued behind running tasks', async () => {
    const pool = new AdaptivePool({ concurrency: 2, backlog: 10 });
    const { state, task, release } = tracker();
    for (let i = 0; i < 8; i++) await pool.submit(task());
    let drained = false;
    const draining = pool.drain().then(() => {
      drained = true;
    });
    for (let round = 0; round < 3; round++) {
      await settle();
      assert.equal(drained, false);
      release(2);
    }
    await settle();
    assert.equal(drained, false, 'two tasks still running');
    release();
    await draining;
    assert.equal(state.finished, 8);
  });

  test('drain() on an idle pool resolves at once', async () => {
    await new AdaptivePool({ concurrency: 2, backlog: 2 }).drain();
  });

  test('a failing task rejects neither submit nor drain, and frees its slot', async () => {
    const pool = new AdaptivePool({ concurrency: 1, backlog: 1 });
    let ran = 0;
    await pool.submit(async () => {
      throw new Error('task failed');
    });
    await pool.submit(() => Promise.reject(new Error('rejected')));
    await pool.submit(async () => {
      ran++;
    });
    await pool.drain();
    assert.equal(ran, 1);
    assert.equal(pool.active, 0);
  });

  test('throttled() halves the limit, not below 1, at most once per second', () => {
    const pool = new AdaptivePool({ concurrency: 16, backlog: 0 });
    assert.equal(pool.limit, 16);
    const STEPS: Array<[now: number, limit: number]> = [
      [10_000, 8],
      [10_500, 8], // within a second of the last decrease: ignored
      [10_999, 8],
      [11_000, 4],
      [12_000, 2],
      [13_000, 1],
      [14_000, 1], // never below 1
      [20_000, 1],
    ];
    for (const [now, limit] of STEPS) {
      pool.throttled(now);
      assert.equal(pool.limit, limit, `at ${now}`);
    }
  });

  test('throttled() rounds odd limits down', () => {
    const pool = new AdaptivePool({ concurrency: 7, backlog: 0 });
    pool.throttled(10_000);
    assert.equal(pool.limit, 3);
  });

  test('the first throttle is honoured whatever the clock reads', () => {
    const pool = new AdaptivePool({ concurrency: 8, backlog: 0 });
    pool.throttled(500);
    assert.equal(pool.limit, 4);
  });

  test('succeeded() adds one back after `limit` successes, up to the configured maximum', () => {
    const pool = new AdaptivePool({ concurrency: 8, backlog: 0 });
    pool.throttled(10_000);
    pool.throttled(11_000);
    assert.equal(pool.limit, 2);
    const record: number[] = [];
    for (let i = 0; i < 40; i++) {
      pool.succeeded();
      record.push(pool.limit);
    }
    // 2 successes → 3; 3 more → 4; 4 more → 5; … 7 more → 8; then stays at the maximum.
    const expected: number[] = [];
    let limit = 2;
    let streak = 0;
    for (let i = 0; i < 40; i++) {
      if (limit < 8 && ++streak >= limit) {
        streak = 0;
        limit++;
      }
      expected.push(limit);
    }
    assert.deepEqual(record, expected);
    assert.equal(record[1], 3);
    assert.equal(record[4], 4);
    assert.equal(record.at(-1), 8);
    assert.equal(Math.max(...record), 8);
  });

  test('succeeded() at the maximum changes nothing', () => {
    const pool = new AdaptivePool({ concurrency: 4, backlog: 0 });
    for (let i = 0; i < 100; i++) pool.succeeded();
    assert.equal(pool.limit, 4);
  });

  test('a throttle resets the success streak', () => {
    const pool = new AdaptivePool({ concurrency: 8, backlog: 0 });
    pool.throttled(10_000); // 4
    pool.succeeded();
    pool.succeeded();
    pool.succeeded(); // streak 3 of 4
    pool.throttled(10_100); // ignored for the limit, but resets the streak
    assert.equal(pool.limit, 4);
    pool.succeeded();
    assert.equal(pool.limit, 4, 'the streak started again');
    pool.succeeded();
    pool.succeeded();
    pool.succeeded();
    assert.equal(pool.limit, 5);
  });

  test('a lowered limit holds new tasks back until running ones finish', async () => {
    const pool = new AdaptivePool({ concurrency: 4, backlog: 20 });
    const { state, task, release } = tracker();
    for (let i = 0; i < 4; i++) await pool.submit(task());
    await settle();
    assert.equal(state.running, 4);
    pool.throttled(10_000); // limit 2
    for (let i = 0; i < 6; i++) await pool.submit(task());
    release(3); // 1 still running, below the new limit of 2
    await settle();
    assert.equal(state.running, 2);
    assert.equal(state.peak, 4);
    release(1);
    await settle();
    assert.ok(state.running <= 2);
    while (state.finished < 10) {
      release();
      await settle();
      assert.ok(state.running <= 2);
    }
    await pool.drain();
  });
});

describe('Semaphore', () => {
  test('acquire beyond the limit waits; release wakes in order', async () => {
    const semaphore = new Semaphore(2);
    await semaphore.acquire();
    await semaphore.acquire();
    const order: number[] = [];
    const third = semaphore.acquire().then(() => order.push(3));
    const fourth = semaphore.acquire().then(() => order.push(4));
    await settle();
    assert.deepEqual(order, []);
    assert.equal(semaphore.inUse, 2);
    semaphore.release();
    await third;
    await settle();
    assert.deepEqual(order, [3]);
    semaphore.release();
    await fourth;
    assert.deepEqual(order, [3, 4]);
    assert.equal(semaphore.inUse, 2);
  });

  test('setLimit raises the limit and wakes waiters at once', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    let woken = 0;
    const waiters = [1, 2, 3].map(() => semaphore.acquire().then(() => woken++));
    await settle();
    assert.equal(woken, 0);
    semaphore.setLimit(3);
    await settle();
    assert.equal(woken, 2);
    assert.equal(semaphore.inUse, 3);
    assert.equal(semaphore.capacity, 3);
    semaphore.release();
    await Promise.all(waiters);
    assert.equal(woken, 3);
  });

  test('setLimit lowers the limit: holders keep their slots, new ones wait', async () => {
    const semaphore = new Semaphore(3);
    for (let i = 0; i < 3; i++) await semaphore.acquire();
    semaphore.setLimit(1);
    let woken = false;
    const waiter = semaphore.acquire().then(() => {
      woken = true;
    });
    semaphore.release();
    semaphore.release();
    await settle();
    assert.equal(woken, false, 'one holder still in use at limit 1');
    semaphore.release();
    await waiter;
    assert.equal(semaphore.inUse, 1);
  });

  test('setLimit never goes below 1', () => {
    const semaphore = new Semaphore(4);
    for (const limit of [0, -5, 0.5]) {
      semaphore.setLimit(limit);
      assert.ok(semaphore.capacity >= 1, `setLimit(${limit}) → ${semaphore.capacity}`);
    }
  });

  test('run() releases its slot when the task throws', async () => {
    const semaphore = new Semaphore(1);
    await assert.rejects(
      semaphore.run(async () => {
        throw new Error('x');
      }),
      /x/,
    );
    assert.equal(semaphore.inUse, 0);
    assert.equal(await semaphore.run(async () => 42), 42);
    assert.equal(semaphore.inUse, 0);
  });
});

describe('RateLimiter', () => {
  test('perSecond 0 never waits', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const limiter = new RateLimiter(0);
      for (let i = 0; i < 1_000; i++) await limiter.take(); // would hang on a frozen clock if it slept
    } finally {
      mock.timers.reset();
    }
  });

  test('a negative perSecond is treated as no limit', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const limiter = new RateLimiter(-1);
      for (let i = 0; i < 100; i++) await limiter.take();
    } finally {
      mock.timers.reset();
    }
  });

  test('perSecond N: a burst of N, then one token per 1/N second', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    try {
      const limiter = new RateLimiter(5);
      for (let i = 0; i < 5; i++) await limiter.take(); // the initial bucket
      let taken = false;
      const sixth = limiter.take().then(() => {
        taken = true;
      });
      await settle(0);
      await Promise.resolve();
      assert.equal(taken, false);
      mock.timers.tick(199);
      await Promise.resolve();
      assert.equal(taken, false);
      mock.timers.tick(1);
      await sixth;
      assert.equal(taken, true);
    } finally {
      mock.timers.reset();
    }
  });

  test('an abort while waiting rejects take()', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    try {
      const limiter = new RateLimiter(1);
      await limiter.take();
      const controller = new AbortController();
      const pending = limiter.take(controller.signal);
      controller.abort(new Error('stop'));
      await assert.rejects(pending, /stop/);
    } finally {
      mock.timers.reset();
    }
  });
});

/**
 * concurrency = auto against a simulated server on a fake clock: each task takes `latency` ms
 * while at most `capacity` run, longer beyond (the server shares itself out), so objects/s
 * rises with the limit up to `capacity` and is flat after. Deterministic: time only moves
 * when the simulation moves it.
 */
async function simulateAuto(options: {
  start: number;
  max: number;
  capacity: number;
  latency: number;
  tasks: number;
  /** Fake ms between submissions (a slow producer); 0: as fast as the pool takes them. */
  producerGap?: number;
  /** The pool's shortest window (default 500 ms). */
  windowMs?: number;
  onTime?: (now: number, pool: AdaptivePool) => void;
}) {
  let now = 0;
  const pool = new AdaptivePool({
    concurrency: options.start,
    backlog: options.max * 4,
    autoMax: options.max,
    windowMs: options.windowMs ?? 500,
    now: () => now,
  });
  const running: Array<{ end: number; gate: Deferred }> = [];
  const limits: number[] = [];
  let finished = 0;
  let submitted = 0;
  const finishTimes: number[] = [];
  const producer = (async () => {
    for (let i = 0; i < options.tasks; i++) {
      if (options.producerGap) {
        const at = now + options.producerGap;
        while (now < at) await settle(1);
      }
      await pool.submit(async () => {
        const gate = deferred();
        const slowdown = Math.max(1, (running.length + 1) / options.capacity);
        running.push({ end: now + options.latency * slowdown, gate });
        await gate.promise;
      });
      submitted++;
    }
  })();
  while (finished < options.tasks) {
    await settle();
    if (running.length === 0) {
      now += 1; // a slow producer: let time pass until it submits
      continue;
    }
    running.sort((a, b) => a.end - b.end);
    const next = running.shift()!;
    now = Math.max(now, next.end);
    next.gate.resolve();
    finished++;
    finishTimes.push(now);
    limits.push(pool.limit);
    options.onTime?.(now, pool);
  }
  await producer;
  await pool.drain();
  /** Tasks per second over the last half of the run. */
  const half = finishTimes[Math.floor(finishTimes.length / 2)]!;
  const last = finishTimes.at(-1)!;
  const lateRate = ((finishTimes.length - Math.floor(finishTimes.length / 2)) * 1000) / (last - half);
  return { pool, limits, lateRate, submitted };
}

describe('AdaptivePool, concurrency = auto', () => {
  test('climbs from its start to about what the server can take, and no further', async () => {
    const { limits, lateRate } = await simulateAuto({
      start: 8,
      max: 256,
      capacity: 40,
      latency: 100,
      tasks: 6000,
    });
    const final = limits.at(-1)!;
    assert.ok(final >= 40, `limit ${final} reached the server's 40`);
    assert.ok(final <= 100, `limit ${final} stayed near the server's 40, not the cap of 256`);
    assert.ok(Math.max(...limits) <= 256);
    // The best fixed concurrency (40) gives 400 tasks/s here.
    assert.ok(lateRate >= 0.9 * 400, `late rate ${lateRate.toFixed(0)}/s ≥ 90 % of 400/s`);
  });

  test('the climb takes a few task durations per step, not fixed seconds (short runs at 20 ms)', async () => {
    // 50 ms tasks, a server that takes 128: from 8, the limit should pass 64 within about three
    // steps of (settle one task + a window of max(WINDOW_MS, two tasks)) ≈ 0.3 s each.
    let reached64At = Number.POSITIVE_INFINITY;
    const { lateRate } = await simulateAuto({
      start: 8,
      max: 256,
      capacity: 128,
      latency: 50,
      tasks: 8000,
      windowMs: WINDOW_MS,
      onTime: (now, pool) => {
        if (pool.limit >= 64 && reached64At === Number.POSITIVE_INFINITY) reached64At = now;
      },
    });
    assert.ok(reached64At <= 1200, `limit ≥ 64 after ${reached64At} ms (≤ 1.2 s)`);
    // The best fixed concurrency (128) gives 2,560 tasks/s here.
    assert.ok(lateRate >= 0.9 * 2560, `late rate ${lateRate.toFixed(0)}/s ≥ 90 % of 2,560/s`);
  });

  test('with a server that takes everything, climbs to the cap and stays there', async () => {
    const { limits } = await simulateAuto({ start: 8, max: 64, capacity: 10_000, latency: 100, tasks: 4000 });
    assert.equal(limits.at(-1), 64);
    assert.ok(Math.max(...limits) <= 64);
  });

  test('a slow producer, not the limit, sets the pace: the limit is not raised', async () => {
    const { limits } = await simulateAuto({
      start: 8,
      max: 256,
      capacity: 1000,
      latency: 100,
      tasks: 150,
      producerGap: 50,
    });
    assert.equal(Math.max(...limits), 8);
  });

  test('throttling halves the chosen limit', async () => {
    let halvedFrom = 0;
    let afterwards = 0;
    await simulateAuto({
      start: 8,
      max: 256,
      capacity: 10_000,
      latency: 100,
      tasks: 3000,
      onTime: (now, pool) => {
        if (halvedFrom === 0 && pool.limit >= 64) {
          halvedFrom = pool.limit;
          pool.throttled(now);
          afterwards = pool.limit;
        }
      },
    });
    assert.ok(halvedFrom >= 64, 'climbed first');
    assert.equal(afterwards, Math.floor(halvedFrom / 2));
  });

  test('onAutoLimit hears every change, a throttle too, and a throwing listener changes nothing', () => {
    const changes: Array<{ limit: number; rate?: number; throttled?: boolean }> = [];
    const pool = new AdaptivePool({
      concurrency: 8,
      backlog: 0,
      autoMax: 64,
      onAutoLimit: (change) => {
        changes.push(change);
        throw new Error('a broken log');
      },
    });
    assert.doesNotThrow(() => pool.throttled(10_000));
    assert.deepEqual(changes, [{ limit: 4, throttled: true }]);
    assert.equal(pool.limit, 4);
  });

  test('a fixed pool never chooses (no autoMax): autoTuned is false', () => {
    assert.equal(new AdaptivePool({ concurrency: 4, backlog: 0 }).autoTuned, false);
    assert.equal(new AdaptivePool({ concurrency: 4, backlog: 0, autoMax: 8 }).autoTuned, true);
  });
});
