/**
 * How a batch's outcome reaches the shared counters, in process against the machine's Redis
 * (a prefix of each test's own, removed after):
 *
 * - SharedProgress.commit's Lua script: a batch id is counted once, atomically with its
 *   counters, however often and however concurrently it is committed; timestamps, the
 *   problems list and its trim.
 * - QueueWorker's arithmetic around it, with a scripted copier in place of the real one and
 *   real BullMQ jobs: what an earlier attempt copied and a retry skips is counted as copied
 *   (carried), failures are retried and then committed once, an interrupted batch commits
 *   nothing, a batch run again after it was counted adds nothing, and the heartbeat carries
 *   the live counts of a batch in progress.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/log.ts';
import type { TableName } from '../../src/mastodon/types.ts';
import type { BatchJobData, JobKey } from '../../src/queue/job.ts';
import {
  type Counters,
  emptyCounters,
  PROBLEMS_KEPT,
  type ProblemEntry,
  SharedProgress,
} from '../../src/queue/progress.ts';
import { type BatchQueue, JOB_NAME, openQueue } from '../../src/queue/queues.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { describeRedisUrl, type QueueSettings } from '../../src/queue/settings.ts';
import { QueueWorker, type WorkerDeps } from '../../src/queue/worker.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';

type Copier = WorkerDeps['copier'];
type Submitted = Awaited<ReturnType<Copier['submitBatch']>>;
type Tally = Submitted['tally'];

const TABLE: TableName = 'media_attachments';
const prefixes: string[] = [];
const clients: Redis[] = [];

function newPrefix(name: string): string {
  const prefix = testPrefix(name);
  prefixes.push(prefix);
  return prefix;
}

function plainRedis(): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
}

after(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  await Promise.all(prefixes.map((p) => dropPrefix(REDIS_URL, p).catch(() => {})));
});

function counters(partial: Partial<Counters>): Counters {
  return { ...emptyCounters(), ...partial };
}

function problem(key: string, status: 'missing' | 'failed' = 'missing'): ProblemEntry {
  return { at: 1, table: TABLE, key, status, reason: `reason of ${key}` };
}

describe('SharedProgress.commit (the Lua script)', () => {
  it('adds a batch once: rows and every counter exactly, a second commit of the same id adds nothing', async () => {
    const redis = plainRedis();
    const progress = new SharedProgress(redis, newPrefix('commit-once'));
    const first = counters({ copied: 7, skipped: 2, missing: 1, failed: 0, bytes: 7_000 });
    assert.equal(await progress.commit(TABLE, 'rows-1-50', 50, first, []), true);
    // The same batch again (a redone batch, a retried commit): other numbers, none counted.
    const again = counters({ copied: 100, skipped: 100, missing: 100, failed: 100, bytes: 100 });
    assert.equal(await progress.commit(TABLE, 'rows-1-50', 50, again, [problem('x')]), false);
    assert.equal(
      await progress.commit(TABLE, 'rows-51-80', 30, counters({ copied: 3, failed: 2, bytes: 33 }), []),
      true,
    );

    const t = await progress.table(TABLE);
    assert.deepEqual(
      { rowsDone: t.rowsDone, copied: t.copied, skipped: t.skipped, missing: t.missing, failed: t.failed },
      { rowsDone: 80, copied: 10, skipped: 2, missing: 1, failed: 2 },
    );
    assert.equal(t.bytes, 7_033);
    assert.deepEqual(await progress.problems(), [], 'the refused commit pushed no problem');
    assert.deepEqual(await progress.doneAmong(TABLE, ['rows-1-50', 'rows-2-2', 'rows-51-80']), [
      true,
      false,
      true,
    ]);
    assert.equal(await progress.isDone(TABLE, 'rows-51-80'), true);
    assert.equal(await progress.isDone('accounts', 'rows-51-80'), false, 'done sets are per table');
    assert.deepEqual(await progress.doneAmong(TABLE, []), []);
  });

  it('counts one of many concurrent commits of one batch, from many connections', async () => {
    const progress = Array.from({ length: 8 }, () => plainRedis());
    const prefix = newPrefix('commit-race');
    const results = await Promise.all(
      progress.flatMap((redis, i) =>
        [0, 1, 2].map((j) =>
          new SharedProgress(redis, prefix).commit(
            TABLE,
            'rows-7-9',
            3,
            counters({ copied: 3, bytes: 10 * (i * 3 + j + 1) }),
            [],
          ),
        ),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1, `counted ${results.filter(Boolean).length} times`);
    const t = await new SharedProgress(progress[0]!, prefix).table(TABLE);
    assert.equal(t.rowsDone, 3);
    assert.equal(t.copied, 3);
    const winner = results.indexOf(true);
    assert.equal(t.bytes, 10 * (winner + 1), 'the bytes of the one commit that counted');
  });

  it('rounds counters to integers (HINCRBY takes no fractions)', async () => {
    const progress = new SharedProgress(plainRedis(), newPrefix('commit-round'));
    assert.equal(await progress.commit(TABLE, 'a', 1, counters({ copied: 1, bytes: 10.6 }), []), true);
    assert.equal(await progress.commit(TABLE, 'b', 1, counters({ copied: 1, bytes: 10.4 }), []), true);
    assert.equal((await progress.table(TABLE)).bytes, 21);
  });

  it('keeps the first commit time as startedAt and the latest as updatedAt', async () => {
    const progress = new SharedProgress(plainRedis(), newPrefix('commit-times'));
    const empty = await progress.table(TABLE);
    assert.equal(empty.startedAt, null);
    assert.equal(empty.updatedAt, null);
    const before = Date.now();
    await progress.commit(TABLE, 'a', 1, counters({ copied: 1 }), []);
    const afterFirst = await progress.table(TABLE);
    await new Promise((r) => setTimeout(r, 15));
    await progress.commit(TABLE, 'b', 1, counters({ copied: 1 }), []);
    await progress.commit(TABLE, 'a', 1, counters({ copied: 1 }), []); // refused: no time change
    const t = await progress.table(TABLE);
    assert.ok(afterFirst.startedAt! >= before && afterFirst.startedAt === afterFirst.updatedAt);
    assert.equal(t.startedAt, afterFirst.startedAt);
    assert.ok(
      t.updatedAt! >= afterFirst.updatedAt! + 15,
      `updatedAt ${t.updatedAt} vs ${afterFirst.updatedAt}`,
    );
  });

  it('pushes problems newest first and keeps the latest PROBLEMS_KEPT of them', async () => {
    const progress = new SharedProgress(plainRedis(), newPrefix('commit-problems'));
    await progress.commit(TABLE, 'a', 2, counters({ missing: 2 }), [problem('a1'), problem('a2')]);
    assert.deepEqual(
      (await progress.problems()).map((p) => p.key),
      ['a2', 'a1'],
    );
    // One batch with more problems than are kept: only the first PROBLEMS_KEPT are sent.
    const many = Array.from({ length: PROBLEMS_KEPT + 30 }, (_, i) => problem(`b${i}`, 'failed'));
    await progress.commit(TABLE, 'b', 1, counters({ failed: many.length }), many);
    const kept = await progress.problems(PROBLEMS_KEPT + 50);
    assert.equal(kept.length, PROBLEMS_KEPT);
    assert.equal(kept[0]!.key, `b${PROBLEMS_KEPT - 1}`);
    assert.equal(kept.at(-1)!.key, 'b0', 'the older batch’s problems were trimmed away');
    assert.deepEqual(kept[0], problem(`b${PROBLEMS_KEPT - 1}`, 'failed'));
    assert.equal((await progress.problems(3)).length, 3);
    assert.equal((await progress.table(TABLE)).failed, PROBLEMS_KEPT + 30, 'counters are not capped');
  });

  it('queues a batch once (markQueued), takes back failed counts, and resets', async () => {
    const progress = new SharedProgress(plainRedis(), newPrefix('queued'));
    await progress.setRowsTotal(TABLE, 1_000);
    assert.equal(await progress.markQueued(TABLE, 'rows-1-50', 50, 120), true);
    assert.equal(await progress.markQueued(TABLE, 'rows-1-50', 50, 120), false);
    assert.equal(await progress.markQueued(TABLE, 'rows-51-60', 10, 15), true);
    assert.equal(await progress.isQueued(TABLE, 'rows-1-50'), true);
    assert.equal(await progress.isQueued(TABLE, 'rows-61-70'), false);
    await progress.commit(TABLE, 'rows-1-50', 50, counters({ copied: 100, failed: 20 }), []);
    await progress.uncountFailed(TABLE, 15);
    const t = await progress.table(TABLE);
    assert.deepEqual(
      [t.rowsTotal, t.rowsQueued, t.keysQueued, t.jobsQueued, t.rowsDone, t.copied, t.failed],
      [1_000, 60, 135, 2, 50, 100, 5],
    );
    await progress.reset([TABLE]);
    const cleared = await progress.table(TABLE);
    assert.deepEqual([cleared.jobsQueued, cleared.copied, cleared.startedAt], [0, 0, null]);
    assert.equal(await progress.isDone(TABLE, 'rows-1-50'), false);
    assert.equal(await progress.isQueued(TABLE, 'rows-1-50'), false);
  });
});

// --- QueueWorker, in process -------------------------------------------------------------

/** A batch's outcome as the scripted copier reports it. */
type Outcome = Partial<Omit<Tally, 'keys'>>;

interface Step {
  /** The tally `submitBatch` resolves with (as copies end, the worker's heartbeat shows it). */
  tally: Tally;
  /** The batch's end; resolved right away unless the step holds it. */
  finished: Promise<Tally>;
  release(): void;
}

/** A BatchCopier stand-in: call n of submitBatch reports outcome n. */
class ScriptedCopier {
  readonly calls: Array<{ keys: string[]; alternates: Array<string | null> }> = [];
  readonly steps: Step[] = [];
  constructor(private readonly script: Array<Outcome & { hold?: boolean }>) {}

  async submitBatch(
    items: Parameters<Copier['submitBatch']>[0],
    alternateOf: Parameters<Copier['submitBatch']>[1],
  ): Promise<Submitted> {
    const n = this.calls.length;
    this.calls.push({ keys: items.map((i) => i.key), alternates: items.map((i) => alternateOf(i)) });
    const scripted = this.script[n];
    if (!scripted) throw new Error(`submitBatch called ${n + 1} times, scripted ${this.script.length}`);
    const { hold, ...outcome } = scripted;
    const tally: Tally = {
      keys: items.length,
      copied: 0,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: 0,
      problems: [],
      interrupted: 0,
      ...outcome,
    };
    let release = () => {};
    const finished = hold
      ? new Promise<Tally>((resolve) => (release = () => resolve(tally)))
      : Promise.resolve(tally);
    this.steps.push({ tally, finished, release });
    return { tally, finished };
  }
}

function jobKeys(n: number): JobKey[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `media_attachments/files/000/000/00${i + 1}/original/f${i}.png`,
    id: String(i + 1),
    attachment: 'file',
    style: 'original',
    contentType: 'image/png',
    size: 100,
    remote: false,
    acl: 'public-read',
  }));
}

interface Harness {
  prefix: string;
  progress: SharedProgress;
  queue: BatchQueue;
  worker: QueueWorker;
  copier: ScriptedCopier;
  add(jobId: string, keys: JobKey[], attempts: number): Promise<void>;
  settled(jobId: string, timeoutMs?: number): Promise<Job<BatchJobData>>;
  close(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function startWorker(name: string, script: Array<Outcome & { hold?: boolean }>): Promise<Harness> {
  const prefix = newPrefix(name);
  const settings: QueueSettings = {
    redisUrl: REDIS_URL,
    redisDescription: describeRedisUrl(REDIS_URL),
    concurrency: 4,
    prefix,
    batchSize: 50,
    maxWaiting: 100,
    attempts: 3,
    lockMs: 30_000,
  };
  const connection = await connectRedis(settings, 'commit-test');
  const progress = new SharedProgress(connection, prefix);
  const queue = openQueue(TABLE, connection, settings);
  const copier = new ScriptedCopier(script);
  const worker = new QueueWorker({
    connection,
    copier: copier as unknown as Copier,
    progress,
    log: silentLogger,
    settings,
    tables: [TABLE],
  });
  worker.start();
  let closed = false;
  const harness: Harness = {
    prefix,
    progress,
    queue,
    worker,
    copier,
    async add(jobId, keys, attempts) {
      const data: BatchJobData = {
        table: TABLE,
        firstId: '1',
        lastId: String(keys.length),
        rows: keys.length,
        keys,
      };
      await queue.add(JOB_NAME, data, {
        jobId,
        attempts,
        backoff: { type: 'fixed', delay: 20 },
        removeOnComplete: false,
        removeOnFail: false,
      });
    },
    async settled(jobId, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const job = await queue.getJob(jobId);
        const state = job ? await job.getState() : 'missing';
        if (job && (state === 'completed' || state === 'failed') && job.finishedOn) {
          const attempts = job.opts.attempts ?? 1;
          if (state === 'completed' || job.attemptsMade >= attempts) return job;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`job ${jobId} not settled after ${timeoutMs} ms`);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const step of copier.steps) step.release();
      await worker.close();
      await queue.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
  harnesses.push(harness);
  return harness;
}

function committed(t: Counters & { rowsDone: number }) {
  return {
    rowsDone: t.rowsDone,
    copied: t.copied,
    skipped: t.skipped,
    missing: t.missing,
    failed: t.failed,
    bytes: t.bytes,
  };
}

function failedProblem(key: string) {
  return { key, status: 'failed' as const, reason: `HTTP 503 for ${key}` };
}

describe('QueueWorker: what a batch commits', () => {
  it('a batch that ends well commits its tally once, and returns it', async () => {
    const keys = jobKeys(5);
    keys[1]!.alt = `cache/${keys[1]!.key}`;
    const h = await startWorker('worker-ok', [
      {
        copied: 3,
        skipped: 1,
        missing: 1,
        bytes: 300,
        problems: [{ key: keys[4]!.key, status: 'missing', reason: 'absent' }],
      },
    ]);
    await h.add('rows-1-5', keys, 3);
    const job = await h.settled('rows-1-5');
    assert.equal(await job.getState(), 'completed');
    assert.deepEqual(job.returnvalue, { copied: 3, skipped: 1, missing: 1, failed: 0, bytes: 300 });
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 5,
      copied: 3,
      skipped: 1,
      missing: 1,
      failed: 0,
      bytes: 300,
    });
    assert.equal(await h.progress.isDone(TABLE, 'rows-1-5'), true);
    assert.equal(h.worker.batchesDone, 1);
    // The copier got the job's keys with their table, and each one's alternate location.
    assert.deepEqual(
      h.copier.calls[0]!.keys,
      keys.map((k) => k.key),
    );
    assert.deepEqual(h.copier.calls[0]!.alternates, [null, `cache/${keys[1]!.key}`, null, null, null]);
    const [p] = await h.progress.problems();
    assert.deepEqual(
      { ...p, at: 0 },
      { at: 0, table: TABLE, key: keys[4]!.key, status: 'missing', reason: 'absent' },
    );
  });

  it('counts what earlier attempts copied (skipped by the retry) as copied, once, with their bytes', async () => {
    const keys = jobKeys(4);
    const h = await startWorker('worker-carried', [
      // 1st: 2 copied, 2 failed → retried, carried {copied 2, bytes 200}
      {
        copied: 2,
        failed: 2,
        bytes: 200,
        problems: [failedProblem(keys[2]!.key), failedProblem(keys[3]!.key)],
      },
      // 2nd: those 2 are skipped now, 1 more copied, 1 still failing → carried {3, 300}
      { copied: 1, skipped: 2, failed: 1, bytes: 100, problems: [failedProblem(keys[3]!.key)] },
      // 3rd (last): all 4 there → 4 copied, 0 skipped, 0 failed, 400 bytes
      { skipped: 3, copied: 1, bytes: 100 },
    ]);
    await h.add('rows-carried', keys, 3);
    const job = await h.settled('rows-carried');
    assert.equal(await job.getState(), 'completed');
    assert.equal(h.copier.calls.length, 3);
    assert.deepEqual(job.data.carried, { copied: 3, bytes: 300 }, 'what attempt 2 handed on');
    assert.deepEqual(job.returnvalue, { copied: 4, skipped: 0, missing: 0, failed: 0, bytes: 400 });
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 4,
      copied: 4,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: 400,
    });
    assert.deepEqual(
      await h.progress.problems(),
      [],
      'failures of attempts that were retried are not listed',
    );
  });

  it('moves back at most what was skipped: objects skipped for their own sake stay skipped', async () => {
    const keys = jobKeys(6);
    const h = await startWorker('worker-moved-back', [
      { copied: 1, skipped: 4, failed: 1, bytes: 50, problems: [failedProblem(keys[5]!.key)] },
      // carried {1, 50}; now 5 skipped (4 already there before the run + 1 copied by attempt 1), 1 copied
      { copied: 1, skipped: 5, bytes: 70 },
    ]);
    await h.add('rows-moved', keys, 2);
    const job = await h.settled('rows-moved');
    assert.deepEqual(job.returnvalue, { copied: 2, skipped: 4, missing: 0, failed: 0, bytes: 120 });
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 6,
      copied: 2,
      skipped: 4,
      missing: 0,
      failed: 0,
      bytes: 120,
    });
  });

  it('moves back no more than the retry skipped: objects copied again are not counted twice', async () => {
    const keys = jobKeys(4);
    const h = await startWorker('worker-copied-again', [
      { copied: 3, failed: 1, bytes: 300, problems: [failedProblem(keys[3]!.key)] },
      // carried {3, 300}; 2 of attempt 1's copies are gone again (copied again), 1 is skipped
      { copied: 3, skipped: 1, bytes: 250 },
    ]);
    await h.add('rows-again-copied', keys, 2);
    const job = await h.settled('rows-again-copied');
    assert.deepEqual(job.returnvalue, { copied: 4, skipped: 0, missing: 0, failed: 0, bytes: 550 });
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 4,
      copied: 4,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: 550,
    });
  });

  it('a batch still failing on its last attempt commits once (failed keys counted and listed) and ends failed', async () => {
    const keys = jobKeys(3);
    const h = await startWorker('worker-last-attempt', [
      {
        copied: 1,
        failed: 2,
        bytes: 10,
        problems: [failedProblem(keys[1]!.key), failedProblem(keys[2]!.key)],
      },
      { skipped: 1, copied: 1, failed: 1, bytes: 20, problems: [failedProblem(keys[2]!.key)] },
    ]);
    await h.add('rows-fails', keys, 2);
    const job = await h.settled('rows-fails');
    assert.equal(await job.getState(), 'failed');
    assert.equal(job.attemptsMade, 2);
    assert.match(job.failedReason, /1 of 3 keys failed after 2 attempts/);
    assert.deepEqual(job.data.failures, [{ key: keys[2]!.key, reason: `HTTP 503 for ${keys[2]!.key}` }]);
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 3,
      copied: 2,
      skipped: 0,
      missing: 0,
      failed: 1,
      bytes: 30,
    });
    const problems = await h.progress.problems();
    assert.deepEqual(
      problems.map((p) => [p.table, p.key, p.status]),
      [[TABLE, keys[2]!.key, 'failed']],
    );
    assert.equal(h.worker.batchesDone, 1);
  });

  it('an interrupted batch commits nothing and hands on no carried counts', async () => {
    const keys = jobKeys(4);
    const h = await startWorker('worker-interrupted', [
      { copied: 2, bytes: 200, interrupted: 2 },
      // The retry finds attempt 1's copies already there; with nothing carried they stay skipped.
      { copied: 2, skipped: 2, bytes: 200 },
    ]);
    await h.add('rows-int', keys, 2);
    const job = await h.settled('rows-int');
    assert.equal(await job.getState(), 'completed');
    assert.equal(job.data.carried, undefined);
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 4,
      copied: 2,
      skipped: 2,
      missing: 0,
      failed: 0,
      bytes: 200,
    });
  });

  it('a batch run again after it was counted (a redelivered job) adds nothing', async () => {
    const keys = jobKeys(2);
    const h = await startWorker('worker-redone', [{ copied: 2, bytes: 64 }, { skipped: 2 }]);
    await h.add('rows-again', keys, 1);
    await (await h.settled('rows-again')).remove();
    await h.add('rows-again', keys, 1);
    const second = await h.settled('rows-again');
    assert.equal(h.copier.calls.length, 2, 'the batch was run twice');
    assert.deepEqual(second.returnvalue, { copied: 0, skipped: 2, missing: 0, failed: 0, bytes: 0 });
    assert.deepEqual(committed(await h.progress.table(TABLE)), {
      rowsDone: 2,
      copied: 2,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: 64,
    });
  });

  it('the heartbeat carries the live counts of a batch in progress, and drops them after the commit', async () => {
    const keys = jobKeys(10);
    const h = await startWorker('worker-beat', [{ hold: true }]);
    await h.add('rows-live', keys, 1);
    const live = async (expected: string) => {
      const deadline = Date.now() + 5_000;
      let seen = '';
      while (Date.now() < deadline) {
        const beats = await h.progress.workers();
        seen = JSON.stringify(beats.map((b) => [b.id, b.activeJobs, b.partial]));
        if (seen === expected) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`heartbeat ${seen}, expected ${expected}`);
    };
    const deadline = Date.now() + 5_000;
    while (h.copier.steps.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const step = h.copier.steps[0]!;
    step.tally.copied = 3;
    step.tally.skipped = 1;
    step.tally.bytes = 4_096;
    const counts = { copied: 3, skipped: 1, missing: 0, failed: 0, bytes: 4_096 };
    await live(JSON.stringify([[h.worker.id, 1, [{ table: TABLE, jobId: 'rows-live', counters: counts }]]]));
    step.tally.copied = 9;
    step.tally.failed = 0;
    step.release();
    await h.settled('rows-live');
    await live(JSON.stringify([[h.worker.id, 0, []]]));
    assert.equal((await h.progress.table(TABLE)).copied, 9);
    await h.close();
    const reader = new SharedProgress(plainRedis(), h.prefix);
    assert.deepEqual(await reader.workers(), [], 'a closed worker removes its heartbeat');
  });
});
