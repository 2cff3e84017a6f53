/**
 * Backoff bounds (full jitter with an injected random, doubling ceiling, cap, Retry-After floor)
 * and withRetries' budget, classification, hooks and abort. Delays are tiny; nothing asserts time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type RetryVerdict,
  sleep,
  withRetries,
} from '../../src/lib/retry.ts';

const POLICY: RetryPolicy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1_000 };
const FAST: RetryPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };

const zero = () => 0;
const one = () => 1;
const half = () => 0.5;

describe('backoffDelay', () => {
  // attempt → ceiling with base 100, max 1000: 100, 200, 400, 800, 1000 (capped), 1000 …
  const CEILINGS: Array<[attempt: number, ceiling: number]> = [
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [6, 1_000],
    [30, 1_000],
    [2_000, 1_000], // 2 ** 1999 is Infinity: still capped
  ];
  for (const [attempt, ceiling] of CEILINGS) {
    test(`attempt ${attempt}: random 0 → 0, random 1 → ${ceiling}, random 0.5 → ${ceiling / 2}`, () => {
      assert.equal(backoffDelay(attempt, POLICY, undefined, zero), 0);
      assert.equal(backoffDelay(attempt, POLICY, undefined, one), ceiling);
      assert.equal(backoffDelay(attempt, POLICY, undefined, half), ceiling / 2);
    });
  }

  test('the delay is a whole number of milliseconds within [0, ceiling]', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      for (const r of [0, 0.001, 0.123, 0.4999, 0.5, 0.77, 0.999999]) {
        const delay = backoffDelay(attempt, POLICY, undefined, () => r);
        const ceiling = Math.min(POLICY.maxDelayMs, POLICY.baseDelayMs * 2 ** (attempt - 1));
        assert.ok(Number.isInteger(delay), `${delay} is an integer`);
        assert.ok(delay >= 0 && delay <= ceiling, `${delay} within [0, ${ceiling}]`);
      }
    }
  });

  test('the ceiling never exceeds maxDelayMs even when base > max', () => {
    const policy: RetryPolicy = { retries: 1, baseDelayMs: 5_000, maxDelayMs: 300 };
    assert.equal(backoffDelay(1, policy, undefined, one), 300);
  });

  test('uses Math.random by default and stays within bounds', () => {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(3, POLICY);
      assert.ok(delay >= 0 && delay <= 400);
    }
  });

  const RETRY_AFTER: Array<[seconds: number, random: () => number, attempt: number, expected: number]> = [
    [2, zero, 1, 2_000], // Retry-After raises the floor above the jitter
    [2, one, 1, 2_000], // … and above the ceiling
    [30, one, 10, 30_000], // … even above maxDelayMs: the server asked for it
    [0, one, 1, 100], // Retry-After 0 does not lower the delay
    [0, zero, 1, 0],
    [0.05, one, 1, 100], // jitter above Retry-After wins
    [0.05, zero, 1, 50],
  ];
  for (const [seconds, random, attempt, expected] of RETRY_AFTER) {
    test(`Retry-After ${seconds}s, random ${random()}, attempt ${attempt} → ${expected} ms`, () => {
      assert.equal(backoffDelay(attempt, POLICY, seconds, random), expected);
    });
  }

  test('the default policy has a positive budget and ordered delays', () => {
    assert.ok(DEFAULT_RETRY_POLICY.retries > 0);
    assert.ok(DEFAULT_RETRY_POLICY.baseDelayMs > 0);
    assert.ok(DEFAULT_RETRY_POLICY.maxDelayMs >= DEFAULT_RETRY_POLICY.baseDelayMs);
  });
});

class Transient extends Error {}
class Permanent extends Error {}

const classify = (error: unknown): RetryVerdict => ({ retry: error instanceof Transient });

describe('withRetries', () => {
  test('returns the first success without retrying', async () => {
    const calls: number[] = [];
    const retried: number[] = [];
    const result = await withRetries(
      FAST,
      { classify, onRetry: (_e, attempt) => retried.push(attempt) },
      async (attempt) => {
        calls.push(attempt);
        return 'ok';
      },
    );
    assert.equal(result, 'ok');
    assert.deepEqual(calls, [1]);
    assert.deepEqual(retried, []);
  });

  for (const retries of [0, 1, 3, 5]) {
    test(`with retries=${retries}: ${retries + 1} attempts, then the last error is thrown`, async () => {
      const calls: number[] = [];
      const retried: Array<[attempt: number, delay: number, message: string]> = [];
      const errors: Transient[] = [];
      await assert.rejects(
        withRetries(
          { ...FAST, retries },
          {
            classify,
            onRetry: (error, attempt, delay) => retried.push([attempt, delay, (error as Error).message]),
          },
          async (attempt) => {
            calls.push(attempt);
            const error = new Transient(`failure ${attempt}`);
            errors.push(error);
            throw error;
          },
        ),
        (error) => {
          assert.equal(error, errors.at(-1), 'the very last error object');
          return true;
        },
      );
      assert.deepEqual(
        calls,
        Array.from({ length: retries + 1 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        retried.map(([attempt, , message]) => [attempt, message]),
        Array.from({ length: retries }, (_, i) => [i + 1, `failure ${i + 1}`]),
      );
      for (const [attempt, delay] of retried) {
        assert.ok(delay >= 0 && delay <= Math.min(FAST.maxDelayMs, FAST.baseDelayMs * 2 ** (attempt - 1)));
      }
    });
  }

  test('succeeds on the last allowed attempt', async () => {
    const calls: number[] = [];
    const result = await withRetries(FAST, { classify }, async (attempt) => {
      calls.push(attempt);
      if (attempt <= FAST.retries) throw new Transient('not yet');
      return attempt;
    });
    assert.equal(result, FAST.retries + 1);
    assert.deepEqual(calls, [1, 2, 3, 4]);
  });

  test('does not retry an error classified as permanent', async () => {
    const calls: number[] = [];
    let retried = 0;
    const permanent = new Permanent('no');
    await assert.rejects(
      withRetries(
        FAST,
        {
          classify,
          onRetry: () => {
            retried++;
          },
        },
        async (attempt) => {
          calls.push(attempt);
          throw permanent;
        },
      ),
      (error) => error === permanent,
    );
    assert.deepEqual(calls, [1]);
    assert.equal(retried, 0);
  });

  test('stops at the first permanent error after transient ones', async () => {
    const calls: number[] = [];
    await assert.rejects(
      withRetries({ ...FAST, retries: 10 }, { classify }, async (attempt) => {
        calls.push(attempt);
        throw attempt < 3 ? new Transient('t') : new Permanent('p');
      }),
      Permanent,
    );
    assert.deepEqual(calls, [1, 2, 3]);
  });

  test('classify sees every error, once each', async () => {
    const seen: string[] = [];
    await assert.rejects(
      withRetries(
        { ...FAST, retries: 2 },
        {
          classify: (error) => {
            seen.push((error as Error).message);
            return { retry: true };
          },
        },
        async (attempt) => {
          throw new Error(`e${attempt}`);
        },
      ),
    );
    assert.deepEqual(seen, ['e1', 'e2', 'e3']);
  });

  test("passes the verdict's Retry-After into the delay given to onRetry", async () => {
    const delays: number[] = [];
    await withRetries(
      { retries: 1, baseDelayMs: 1, maxDelayMs: 1 },
      {
        classify: () => ({ retry: true, retryAfterSeconds: 0.02 }),
        onRetry: (_e, _attempt, delay) => delays.push(delay),
      },
      async (attempt) => {
        if (attempt === 1) throw new Error('slow down');
        return attempt;
      },
    );
    assert.deepEqual(delays, [20]);
  });

  test('does not start another attempt once the signal is aborted', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    await assert.rejects(
      withRetries({ ...FAST, retries: 10 }, { classify, signal: controller.signal }, async (attempt) => {
        calls.push(attempt);
        if (attempt === 2) controller.abort(new Error('stop'));
        throw new Transient(`t${attempt}`);
      }),
      // Aborted before the wait: the attempt's own error is thrown.
      { message: 't2' },
    );
    assert.deepEqual(calls, [1, 2]);
  });

  test('an abort during the wait ends the loop with the abort reason', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const reason = new Error('interrupted');
    await assert.rejects(
      withRetries(
        { retries: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
        {
          classify: () => ({ retry: true }),
          signal: controller.signal,
          // Abort while the (one-minute) wait is pending: the test would time out otherwise.
          onRetry: () => queueMicrotask(() => controller.abort(reason)),
        },
        async (attempt) => {
          calls.push(attempt);
          throw new Transient('t');
        },
      ),
      (error) => error === reason,
    );
    assert.deepEqual(calls, [1]);
  });

  test('an already aborted signal still lets the first attempt run and succeed', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await withRetries(FAST, { classify, signal: controller.signal }, async () => 'done');
    assert.equal(result, 'done');
  });
});

describe('sleep', () => {
  test('resolves after the delay', async () => {
    await sleep(1);
  });

  test('rejects at once with the reason when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await assert.rejects(sleep(60_000, controller.signal), (error) => error === reason);
  });

  test('rejects when aborted while waiting, without waiting out the timer', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = sleep(60_000, controller.signal);
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  });

  test('removes its abort listener once it resolves', async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      return add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      return remove(...args);
    }) as typeof signal.removeEventListener;
    for (let i = 0; i < 5; i++) await sleep(0, signal);
    assert.equal(added, 5);
    assert.equal(removed, 5);
  });
});
