/**
 * How many batches a worker takes (src/queue/intake.ts): the rule as pure functions, and the
 * pause/resume it drives on a worker's BullMQ workers (fakes here; no Redis).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Intake,
  keysAhead,
  lookaheadKeys,
  MAX_BATCHES_PER_TABLE,
  wantsMoreBatches,
} from '../../src/queue/intake.ts';

describe('the batch intake rule', () => {
  it('keeps four rounds of copy slots ahead', () => {
    assert.equal(lookaheadKeys(8), 32);
    assert.equal(lookaheadKeys(16), 64);
    assert.equal(lookaheadKeys(0), 4, 'never zero: a worker always takes a first batch');
    assert.equal(MAX_BATCHES_PER_TABLE, 2);
  });

  it('counts the keys of held batches that are not done yet', () => {
    assert.equal(keysAhead([]), 0);
    assert.equal(
      keysAhead([
        { keys: 40, done: 10 },
        { keys: 5, done: 0 },
      ]),
      35,
    );
    assert.equal(keysAhead([{ keys: 3, done: 5 }]), 0, 'never negative');
  });

  const table: Array<[string, Array<{ keys: number; done: number }>, number, boolean]> = [
    ['an idle worker takes a batch', [], 8, true],
    ['a large batch just started: no more', [{ keys: 400, done: 0 }], 8, false],
    ['a large batch nearly done: the next one, so its lookups overlap', [{ keys: 400, done: 380 }], 8, true],
    ['exactly the lookahead ahead: no more', [{ keys: 32, done: 0 }], 8, false],
    [
      'small batches: several at once',
      [
        { keys: 6, done: 0 },
        { keys: 8, done: 0 },
      ],
      8,
      true,
    ],
    [
      'many small batches fill the lookahead',
      Array.from({ length: 6 }, () => ({ keys: 6, done: 0 })),
      8,
      false,
    ],
    ['a higher concurrency looks further ahead', [{ keys: 40, done: 0 }], 16, true],
  ];
  for (const [name, held, concurrency, expected] of table) {
    it(name, () => assert.equal(wantsMoreBatches(held, concurrency), expected));
  }
});

describe('Intake', () => {
  function fakeWorkers(n: number) {
    const calls: string[] = [];
    const workers = Array.from({ length: n }, (_, i) => ({
      pause: async (doNotWaitActive?: boolean) => {
        calls.push(`pause ${i} ${doNotWaitActive}`);
      },
      resume: async () => {
        calls.push(`resume ${i}`);
      },
    }));
    return { workers, calls };
  }

  it('pauses every table when enough is held, resumes them when it runs low, once per change', () => {
    const { workers, calls } = fakeWorkers(2);
    let held = [{ keys: 100, done: 0 }];
    const intake = new Intake(workers, () => held, 8, assert.fail);
    intake.check();
    assert.deepEqual(calls.splice(0), ['pause 0 true', 'pause 1 true'], 'pauses fetching only');
    assert.equal(intake.isPaused, true);
    intake.check();
    assert.deepEqual(calls.splice(0), [], 'no second pause');
    held = [{ keys: 100, done: 90 }];
    intake.check();
    assert.deepEqual(calls.splice(0), ['resume 0', 'resume 1']);
    intake.check();
    assert.deepEqual(calls.splice(0), [], 'no second resume');
    intake.stop();
    held = [{ keys: 100, done: 0 }];
    intake.check();
    assert.deepEqual(calls, [], 'nothing after stop');
  });

  it('reports a failed pause or resume instead of throwing', async () => {
    const errors: string[] = [];
    const workers = [
      {
        pause: async () => Promise.reject(new Error('no pause')),
        resume: async () => Promise.reject(new Error('no resume')),
      },
    ];
    let held = [{ keys: 100, done: 0 }];
    const intake = new Intake(
      workers,
      () => held,
      8,
      (e) => errors.push(e.message),
    );
    intake.check();
    held = [];
    intake.check();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(errors, ['no pause', 'no resume']);
  });
});
