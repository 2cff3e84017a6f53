/**
 * OverviewReader (the dashboard's and `status`'s one read of a distributed run), in process
 * against the machine's Redis with a prefix of each test's own: committed counters plus the
 * live counts in worker heartbeats, keyed by batch — one batch counted once whichever workers
 * report it (a killed worker's heartbeat lingers while another redoes its batch: the larger
 * count wins), and dropped once the batch is committed. Heartbeats are written directly, as
 * workers write them, so every number is known.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { TableName } from '../../src/mastodon/types.ts';
import { type Overview, OverviewReader } from '../../src/queue/overview.ts';
import { type Counters, emptyCounters, type PartialBatch, SharedProgress } from '../../src/queue/progress.ts';
import { type BatchQueue, JOB_NAME, openQueue } from '../../src/queue/queues.ts';
import type { QueueSettings } from '../../src/queue/settings.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';

const MEDIA: TableName = 'media_attachments';
const ACCOUNTS: TableName = 'accounts';

const prefixes: string[] = [];
const clients: Redis[] = [];
const queues: BatchQueue[] = [];

after(async () => {
  await Promise.all(queues.map((q) => q.close().catch(() => {})));
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  await Promise.all(prefixes.map((p) => dropPrefix(REDIS_URL, p).catch(() => {})));
});

function setup(name: string): { prefix: string; redis: Redis; progress: SharedProgress } {
  const prefix = testPrefix(name);
  prefixes.push(prefix);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  clients.push(redis);
  return { prefix, redis, progress: new SharedProgress(redis, prefix) };
}

function counters(partial: Partial<Counters>): Counters {
  return { ...emptyCounters(), ...partial };
}

function batch(table: TableName, jobId: string, partial: Partial<Counters>): PartialBatch {
  return { table, jobId, counters: counters(partial) };
}

async function beat(
  progress: SharedProgress,
  id: string,
  partial: PartialBatch[],
  ttlMs = 60_000,
): Promise<void> {
  await progress.beat(
    {
      id,
      host: 'test-host',
      pid: 4242,
      concurrency: 8,
      startedAt: 1_000,
      activeJobs: partial.length,
      partial,
    },
    ttlMs,
  );
}

function tableOf(o: Overview, table: string) {
  const t = o.tables.find((x) => x.table === table);
  assert.ok(t, `no ${table} in the overview: ${o.tables.map((x) => x.table).join(', ')}`);
  return t;
}

/** The counted fields of a table (or the totals), as one object so a failure shows them all. */
function counted(t: Counters & { done: number }) {
  return {
    done: t.done,
    copied: t.copied,
    skipped: t.skipped,
    missing: t.missing,
    failed: t.failed,
    bytes: t.bytes,
  };
}

describe('OverviewReader: live counts', () => {
  it('adds the uncommitted batches of heartbeats to what was committed', async () => {
    const { progress } = setup('ov-live');
    await progress.markQueued(MEDIA, 'b0', 10, 20);
    await progress.markQueued(MEDIA, 'b1', 10, 20);
    await progress.markQueued(MEDIA, 'b2', 10, 20);
    await progress.commit(
      MEDIA,
      'b0',
      10,
      counters({ copied: 15, skipped: 3, missing: 2, bytes: 1_500 }),
      [],
    );
    await beat(progress, 'w1', [
      batch(MEDIA, 'b1', { copied: 4, skipped: 1, bytes: 400 }),
      batch(MEDIA, 'b2', { copied: 1, failed: 1, bytes: 7 }),
    ]);
    const o = await new OverviewReader(progress, new Map()).read();
    assert.deepEqual(counted(tableOf(o, MEDIA)), {
      done: 27,
      copied: 20,
      skipped: 4,
      missing: 2,
      failed: 1,
      bytes: 1_907,
    });
    assert.equal(tableOf(o, MEDIA).rowsDone, 10, 'rows count only when committed');
    assert.deepEqual(
      o.tables.map((t) => t.table),
      [MEDIA],
      'tables with nothing queued are left out',
    );
    assert.deepEqual(o.workers, [
      { id: 'w1', host: 'test-host', pid: 4242, concurrency: 8, startedAt: 1_000, activeJobs: 2 },
    ]);
  });

  it('counts a batch in two heartbeats once: a killed worker’s lingering one and its successor’s (the larger wins)', async () => {
    const { progress } = setup('ov-lingering');
    await progress.markQueued(MEDIA, 'b1', 10, 30);
    // The killed worker got to 6 of b1's keys; the worker redoing b1 is at 9 (its skips of the
    // first one's copies included). Neither is added to the other.
    await beat(progress, 'killed', [batch(MEDIA, 'b1', { copied: 5, skipped: 1, bytes: 500 })]);
    await beat(progress, 'successor', [
      batch(MEDIA, 'b1', { copied: 2, skipped: 7, bytes: 200 }),
      batch(MEDIA, 'b2', { copied: 1, bytes: 10 }),
    ]);
    const reader = new OverviewReader(progress, new Map());
    assert.deepEqual(counted(tableOf(await reader.read(), MEDIA)), {
      done: 10,
      copied: 3,
      skipped: 7,
      missing: 0,
      failed: 0,
      bytes: 210,
    });

    // The successor just started on b1 (fewer done than the killed one's last beat): the
    // killed worker's count stands until the successor passes it.
    await beat(progress, 'successor', [
      batch(MEDIA, 'b1', { skipped: 2 }),
      batch(MEDIA, 'b2', { copied: 1, bytes: 10 }),
    ]);
    assert.deepEqual(counted(tableOf(await reader.read(), MEDIA)), {
      done: 7,
      copied: 6,
      skipped: 1,
      missing: 0,
      failed: 0,
      bytes: 510,
    });

    // The same count in both (a tie): still once.
    await beat(progress, 'successor', [batch(MEDIA, 'b1', { copied: 5, skipped: 1, bytes: 500 })]);
    assert.deepEqual(counted(tableOf(await reader.read(), MEDIA)), {
      done: 6,
      copied: 5,
      skipped: 1,
      missing: 0,
      failed: 0,
      bytes: 500,
    });
  });

  it('drops a batch’s live counts once it is committed, though heartbeats still list it', async () => {
    const { progress } = setup('ov-committed');
    await progress.markQueued(MEDIA, 'b1', 10, 10);
    await progress.markQueued(MEDIA, 'b2', 10, 10);
    await beat(progress, 'killed', [batch(MEDIA, 'b1', { copied: 4, bytes: 40 })]);
    await beat(progress, 'successor', [
      batch(MEDIA, 'b1', { copied: 8, skipped: 2, bytes: 80 }),
      batch(MEDIA, 'b2', { copied: 3, bytes: 30 }),
    ]);
    const reader = new OverviewReader(progress, new Map());
    assert.equal(tableOf(await reader.read(), MEDIA).done, 13);

    // b1 ends: committed with its final counts; both heartbeats still carry it until their next beat.
    await progress.commit(MEDIA, 'b1', 10, counters({ copied: 4, skipped: 6, bytes: 40 }), []);
    const o = await reader.read();
    assert.deepEqual(counted(tableOf(o, MEDIA)), {
      done: 13,
      copied: 7,
      skipped: 6,
      missing: 0,
      failed: 0,
      bytes: 70,
    });
    assert.equal(tableOf(o, MEDIA).rowsDone, 10);
    assert.equal(tableOf(o, MEDIA).keysExpected, 20);
    assert.equal(tableOf(o, MEDIA).percent, 65);

    await progress.commit(MEDIA, 'b2', 10, counters({ copied: 10, bytes: 100 }), []);
    const end = await reader.read();
    assert.deepEqual(counted(tableOf(end, MEDIA)), {
      done: 20,
      copied: 14,
      skipped: 6,
      missing: 0,
      failed: 0,
      bytes: 140,
    });
    assert.equal(tableOf(end, MEDIA).percent, 100);
    assert.equal(tableOf(end, MEDIA).etaSeconds, 0);
  });

  it('keys batches by table and job id: the same id in two tables is two batches', async () => {
    const { progress } = setup('ov-tables');
    await progress.markQueued(MEDIA, 'rows-1-10', 10, 40);
    await progress.markQueued(ACCOUNTS, 'rows-1-10', 10, 20);
    await progress.commit(ACCOUNTS, 'rows-1-10', 10, counters({ copied: 20, bytes: 2_000 }), []);
    await beat(progress, 'w1', [
      batch(MEDIA, 'rows-1-10', { copied: 12, bytes: 1_200 }),
      // Lingering from before accounts' batch was committed: not added again.
      batch(ACCOUNTS, 'rows-1-10', { copied: 15, bytes: 1_500 }),
    ]);
    const o = await new OverviewReader(progress, new Map()).read();
    assert.deepEqual(
      o.tables.map((t) => [t.table, t.done, t.bytes]),
      [
        [MEDIA, 12, 1_200],
        [ACCOUNTS, 20, 2_000],
      ],
    );
    assert.deepEqual(counted(o.totals), {
      done: 32,
      copied: 32,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: 3_200,
    });
    assert.equal(o.totals.keysQueued, 60);
    assert.equal(o.totals.keysExpected, 60);
    assert.equal(o.totals.rowsDone, 10);
    assert.equal(o.totals.percent, (100 * 32) / 60);
  });

  it('forgets a heartbeat once it expires (a killed worker’s live counts go with it)', async () => {
    const { progress } = setup('ov-expired');
    await progress.markQueued(MEDIA, 'b1', 10, 10);
    await beat(progress, 'killed', [batch(MEDIA, 'b1', { copied: 6, bytes: 60 })], 150);
    const reader = new OverviewReader(progress, new Map());
    assert.equal(tableOf(await reader.read(), MEDIA).done, 6);
    await new Promise((r) => setTimeout(r, 300));
    const o = await reader.read();
    assert.equal(tableOf(o, MEDIA).done, 0);
    assert.deepEqual(o.workers, []);
  });

  it('extrapolates the keys expected while the producer is still queueing', async () => {
    const { progress } = setup('ov-expected');
    await progress.setRowsTotal(MEDIA, 1_000);
    await progress.markQueued(MEDIA, 'b1', 100, 250);
    await progress.markQueued(MEDIA, 'b2', 100, 150);
    await progress.commit(MEDIA, 'b1', 100, counters({ copied: 250 }), []);
    const t = tableOf(await new OverviewReader(progress, new Map()).read(), MEDIA);
    // 400 keys for 200 of 1,000 rows → 2,000 expected; 250 done → 12.5 %.
    assert.deepEqual(
      [t.rowsTotal, t.rowsQueued, t.keysQueued, t.keysExpected, t.done],
      [1_000, 200, 400, 2_000, 250],
    );
    assert.equal(t.percent, 12.5);
    // One commit so far (startedAt = updatedAt) and a first look: no rate yet, so no ETA.
    assert.equal(t.objectsPerSecond, 0);
    assert.equal(t.etaSeconds, null);
  });

  it('reads the queue’s job counts and whether it is paused', async () => {
    const { prefix, redis, progress } = setup('ov-queue');
    const settings = { prefix } as QueueSettings;
    const queue = openQueue(MEDIA, redis, settings);
    queues.push(queue);
    await queue.pause();
    const data = { table: MEDIA, firstId: '1', lastId: '1', rows: 1, keys: [] };
    await queue.add(JOB_NAME, data, { jobId: 'j1' });
    await queue.add(JOB_NAME, data, { jobId: 'j2', priority: 3 });
    await queue.add(JOB_NAME, data, { jobId: 'j3', delay: 60_000 });
    await progress.markQueued(MEDIA, 'j1', 1, 0);
    const o = await new OverviewReader(progress, new Map([[MEDIA, queue]])).read();
    const t = tableOf(o, MEDIA);
    assert.deepEqual(t.jobs, { waiting: 2, active: 0, delayed: 1, failed: 0 });
    assert.equal(t.paused, true);
    assert.deepEqual(o.totals.jobs, { waiting: 2, active: 0, delayed: 1, failed: 0 });
  });
});
