/**
 * chooseContentType as a table; copyObject with in-memory stores (MemoryStore) whose reads and
 * writes follow a script (fail, throttle, vanish, end short), so every outcome and counter is asserted.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { RateLimiter } from '../../src/lib/rate.ts';
import type { RetryPolicy } from '../../src/lib/retry.ts';
import { silentLogger } from '../../src/log.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { ShortBodyError, StoreError } from '../../src/storage/errors.ts';
import type { ObjectInfo, ObjectStore, WriteOptions } from '../../src/storage/types.ts';
import {
  BUFFERED_BODY_MAX,
  type CopyContext,
  type CopyTask,
  chooseContentType,
  copyObject,
} from '../../src/transfer/copy.ts';
import { Stats } from '../../src/transfer/stats.ts';
import { MemoryAccount, type MemoryPut, MemoryStore } from '../helpers/memory-store.ts';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('chooseContentType', () => {
  const TABLE: Array<[fromSource: string | undefined, fromCatalog: string, expected: string]> = [
    [undefined, 'image/png', 'image/png'],
    ['', 'image/png', 'image/png'],
    ['application/octet-stream', 'video/mp4', 'video/mp4'],
    ['binary/octet-stream', 'video/mp4', 'video/mp4'],
    ['Application/Octet-Stream', 'video/mp4', 'video/mp4'],
    ['application/octet-stream; charset=binary', 'image/gif', 'image/gif'],
    [' application/octet-stream ', 'image/gif', 'image/gif'],
    ['   ', 'image/gif', 'image/gif'],
    ['image/jpeg', 'image/png', 'image/jpeg'], // a real source type wins over the catalog's
    ['video/mp4', 'application/octet-stream', 'video/mp4'],
    ['image/png; charset=x', 'image/jpeg', 'image/png; charset=x'], // kept whole, parameters included
    ['text/plain;charset=utf-8', 'image/png', 'text/plain;charset=utf-8'],
    ['IMAGE/WEBP', 'image/png', 'IMAGE/WEBP'],
  ];
  for (const [fromSource, fromCatalog, expected] of TABLE) {
    test(`${JSON.stringify(fromSource)} with catalog ${fromCatalog} → ${expected}`, () => {
      assert.equal(chooseContentType(fromSource, fromCatalog), expected);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// in-memory stores (test/helpers/memory-store.ts), their reads and writes scripted call by call

/** What one read does: serve the object, fail before answering, or serve a body that misbehaves. */
type ReadStep =
  | 'ok'
  | StoreError
  | Error
  | { short: number } // body ends after this many bytes (the info says the full size)
  | { long: number } // body has this many extra bytes
  | { failAfter: number; error: Error }; // body errors midway

/** What one write does: store the body and answer its MD5, fail before reading it, or answer this ETag. */
type WriteStep = 'ok' | StoreError | Error | { etag: string };

const reads = (store: MemoryStore) => store.callsOf('read').map((c) => c.key);

const RETRY: RetryPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };
const DATA = Buffer.from(Array.from({ length: 5_000 }, (_, i) => (i * 13) % 251));
const KEY = 'media_attachments/files/000/000/001/original/a.png';

function item(overrides: Partial<CatalogKey> = {}): CatalogKey {
  return {
    key: KEY,
    table: 'media_attachments',
    id: '1',
    attachment: 'file',
    style: 'original',
    contentType: 'image/png',
    size: DATA.length,
    remote: false,
    acl: 'public-read',
    ...overrides,
  };
}

function setup(options: {
  reads?: ReadStep[];
  writes?: WriteStep[];
  source?: MemoryPut;
  data?: Buffer;
  ctx?: Partial<CopyContext>;
  /** The destination can copy from the source server-side (one account), or answers it cannot. */
  serverCopy?: 'copy' | 'decline';
}) {
  const account = new MemoryAccount();
  const source = new MemoryStore({ description: 'source', account, bucket: 'source', chunkSize: 1_000 });
  const dest = new MemoryStore({
    description: 'dest',
    account,
    bucket: 'dest',
    copy: options.serverCopy !== undefined,
  });
  source.inject({
    op: ['write', 'copy', 'setAcl', 'replaceMetadata'],
    fault: new Error('the source is never written'),
  });
  dest.inject({ op: 'read', fault: new Error('the destination is never read') });
  if (options.serverCopy === 'decline') dest.inject({ op: 'copy', fault: 'decline' });
  source.script('read', options.reads ?? []);
  dest.script('write', options.writes ?? []);
  const data = options.data ?? DATA;
  const stored = source.put(KEY, data, options.source);
  const sourceInfo: ObjectInfo = {
    key: KEY,
    size: data.length,
    etag: stored.etag,
    ...(stored.contentType !== undefined ? { contentType: stored.contentType } : {}),
  };
  const pacer = { throttledCalls: 0, succeededCalls: 0 };
  const controller = new AbortController();
  const ctx: CopyContext = {
    source,
    dest,
    stats: new Stats(),
    signal: controller.signal,
    log: silentLogger,
    retry: RETRY,
    serverSide: false,
    cacheControl: 'public, max-age=315576000, immutable',
    dryRun: false,
    rate: new RateLimiter(0),
    pacer: {
      throttled: () => {
        pacer.throttledCalls++;
      },
      succeeded: () => {
        pacer.succeededCalls++;
      },
    },
    ...options.ctx,
  };
  const task: CopyTask = { item: item(), sourceKey: KEY, sourceInfo };
  return { source, dest, ctx, task, pacer, controller, data };
}

const retryable = (message = 'HTTP 500') => new StoreError('retryable', message);

describe('copyObject', () => {
  test('copies the bytes exactly and passes the write options', async () => {
    const { dest, ctx, task, pacer, source } = setup({});
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'copied', bytes: DATA.length, attempts: 1 });
    assert.deepEqual(reads(source), [KEY]);
    assert.equal(dest.writes.length, 1);
    assert.deepEqual(dest.get(KEY)?.data, DATA);
    const options = dest.writes[0]!.options;
    assert.equal(options.size, DATA.length);
    assert.equal(options.contentType, 'image/png');
    assert.equal(options.cacheControl, 'public, max-age=315576000, immutable');
    assert.equal(options.acl, 'public-read');
    assert.equal(options.md5, md5(DATA));
    assert.equal(options.signal, ctx.signal);
    assert.equal(pacer.succeededCalls, 1);
    assert.equal(pacer.throttledCalls, 0);
    assert.equal(ctx.stats.retries, 0);
    assert.equal(ctx.stats.bytesStreamed, DATA.length);
    assert.equal(ctx.stats.requests.get, 1);
    assert.equal(ctx.stats.requests.put, 1);
  });

  const TYPE_CASES: Array<[sourceType: string | undefined, catalogType: string, written: string]> = [
    ['image/jpeg', 'image/png', 'image/jpeg'],
    ['application/octet-stream', 'video/mp4', 'video/mp4'],
    [undefined, 'image/gif', 'image/gif'],
  ];
  for (const [sourceType, catalogType, written] of TYPE_CASES) {
    test(`writes Content-Type ${written} (source ${sourceType}, catalog ${catalogType})`, async () => {
      const { dest, ctx, task } = setup({
        source: sourceType === undefined ? {} : { contentType: sourceType },
      });
      task.item = item({ contentType: catalogType });
      assert.equal((await copyObject(ctx, task)).status, 'copied');
      assert.equal(dest.writes[0]!.options.contentType, written);
    });
  }

  test('passes acl null (no ACL header) and private through', async () => {
    for (const acl of [null, 'private']) {
      const { dest, ctx, task } = setup({});
      task.item = item({ acl });
      assert.equal((await copyObject(ctx, task)).status, 'copied');
      assert.equal(dest.writes[0]!.options.acl, acl);
    }
  });

  test('a multipart source ETag sends no MD5 and skips the check', async () => {
    const { dest, ctx, task } = setup({
      source: { etag: `${'a'.repeat(32)}-3` },
      writes: [{ etag: 'b'.repeat(32) }],
    });
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'copied');
    assert.equal('md5' in dest.writes[0]!.options, false);
  });

  test('a zero-byte object is copied', async () => {
    const { dest, ctx, task } = setup({ data: Buffer.alloc(0) });
    assert.deepEqual(await copyObject(ctx, task), { status: 'copied', bytes: 0, attempts: 1 });
    assert.deepEqual(dest.get(KEY)?.data, Buffer.alloc(0));
  });

  test('copies from the alternate source key to the referenced key', async () => {
    const { dest, ctx, task, source } = setup({});
    const alternate = `cache/${KEY}`;
    source.put(alternate, DATA);
    task.sourceKey = alternate;
    assert.equal((await copyObject(ctx, task)).status, 'copied');
    assert.deepEqual(reads(source), [alternate]);
    assert.deepEqual(dest.keys(), [KEY]);
  });

  test('a read failing twice with a retryable error, then succeeding: attempts 3, retries 2', async () => {
    const { dest, ctx, task, pacer, source } = setup({ reads: [retryable(), retryable(), 'ok'] });
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'copied', bytes: DATA.length, attempts: 3 });
    assert.equal(ctx.stats.retries, 2);
    assert.equal(reads(source).length, 3);
    assert.equal(dest.writes.length, 1);
    assert.deepEqual(dest.get(KEY)?.data, DATA);
    assert.equal(pacer.succeededCalls, 1);
    assert.equal(pacer.throttledCalls, 0);
    assert.equal(ctx.stats.throttled, 0);
  });

  test('a socket error (not a StoreError) is retried', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const { ctx, task } = setup({ reads: [reset] });
    assert.deepEqual(await copyObject(ctx, task), { status: 'copied', bytes: DATA.length, attempts: 2 });
    assert.equal(ctx.stats.retries, 1);
  });

  test('an unknown plain error is fatal: failed after one attempt', async () => {
    const { ctx, task, source } = setup({ reads: [new TypeError('bug')] });
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.attempts, 1);
    assert.equal(reads(source).length, 1);
  });

  test('a throttled error tells the pacer, counts, and is retried', async () => {
    const { ctx, task, pacer } = setup({
      reads: [new StoreError('throttled', 'SlowDown', 0.001), new StoreError('throttled', 'SlowDown'), 'ok'],
    });
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'copied', bytes: DATA.length, attempts: 3 });
    assert.equal(pacer.throttledCalls, 2);
    assert.equal(ctx.stats.throttled, 2);
    assert.equal(ctx.stats.retries, 2);
    assert.equal(pacer.succeededCalls, 1);
  });

  test('a throttled write also tells the pacer', async () => {
    const { ctx, task, pacer, dest } = setup({ writes: [new StoreError('throttled', '503 SlowDown'), 'ok'] });
    assert.equal((await copyObject(ctx, task)).status, 'copied');
    assert.equal(pacer.throttledCalls, 1);
    assert.equal(dest.writes.length, 2);
  });

  test('a gone read → missing, not retried', async () => {
    const { ctx, task, source, dest, pacer } = setup({});
    source.delete(KEY);
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'missing');
    assert.equal(outcome.attempts, 1);
    assert.match((outcome as { reason: string }).reason, /gone/);
    assert.equal(reads(source).length, 1);
    assert.equal(dest.writes.length, 0);
    assert.equal(ctx.stats.retries, 0);
    assert.equal(pacer.succeededCalls, 0);
  });

  test('a gone read after a retryable one → missing at attempt 2', async () => {
    const { ctx, task } = setup({ reads: [retryable(), new StoreError('gone', 'NoSuchKey')] });
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'missing');
    assert.equal(outcome.attempts, 2);
  });

  test('a fatal write → failed, not retried', async () => {
    const { ctx, task, source, dest, pacer } = setup({ writes: [new StoreError('fatal', 'AccessDenied')] });
    const outcome = await copyObject(ctx, task);
    // The store said the whole run is refused: the outcome names the side, for the scheduler to stop.
    assert.deepEqual(outcome, {
      status: 'failed',
      reason: 'AccessDenied',
      attempts: 1,
      fatal: 'destination',
    });
    assert.equal(reads(source).length, 1);
    assert.equal(dest.writes.length, 1);
    assert.deepEqual(dest.keys(), []);
    assert.equal(ctx.stats.retries, 0);
    assert.equal(pacer.succeededCalls, 0);
  });

  test('retryable errors beyond the budget → failed with the last reason after retries + 1 attempts', async () => {
    const { ctx, task, source } = setup({
      reads: [retryable('one'), retryable('two'), retryable('three'), retryable('four'), 'ok'],
    });
    const outcome = await copyObject(ctx, task);
    // Still transient at the end: a later pass (sync's retry_passes) may succeed.
    assert.deepEqual(outcome, {
      status: 'failed',
      reason: 'four',
      attempts: RETRY.retries + 1,
      retryable: true,
    });
    assert.equal(reads(source).length, RETRY.retries + 1);
    assert.equal(ctx.stats.retries, RETRY.retries);
  });

  // Small objects are read whole before their write (a misbehaving body never reaches the
  // destination); larger ones stream, and the destination's write sees the body fail.
  const BIG = Buffer.from(Array.from({ length: BUFFERED_BODY_MAX + 5_000 }, (_, i) => (i * 7) % 253));
  for (const [path, data] of [
    ['read whole', DATA],
    ['streamed', BIG],
  ] as const) {
    const failedWrites = (dest: MemoryStore) => dest.writes.filter((w) => w.error !== undefined);

    test(`${path}: a source body that ends short is retried, and no short object is ever stored`, async () => {
      const { ctx, task, dest } = setup({ data, reads: [{ short: 3_000 }, { short: 0 }, 'ok'] });
      const outcome = await copyObject(ctx, task);
      assert.deepEqual(outcome, { status: 'copied', bytes: data.length, attempts: 3 });
      if (data === DATA) assert.equal(dest.writes.length, 1, 'only the whole body was written');
      else {
        assert.equal(dest.writes.length, 3);
        assert.ok(dest.writes[0]!.error instanceof ShortBodyError, String(dest.writes[0]!.error));
        assert.ok(dest.writes[1]!.error instanceof ShortBodyError);
      }
      assert.equal(dest.writes.at(-1)!.error, undefined);
      assert.deepEqual(dest.get(KEY)?.data, data);
      assert.equal(ctx.stats.retries, 2);
    });

    test(`${path}: a source body that always ends short → failed, never copied`, async () => {
      const short = data.length - 1;
      const { ctx, task, dest } = setup({ data, reads: Array.from({ length: 10 }, () => ({ short })) });
      const outcome = await copyObject(ctx, task);
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, RETRY.retries + 1);
      assert.match(
        (outcome as { reason: string }).reason,
        new RegExp(`ended short: ${short} of ${data.length}`),
      );
      assert.deepEqual(dest.keys(), []);
      assert.ok(dest.writes.every((w) => w.error instanceof ShortBodyError));
      assert.equal(dest.writes.length, data === DATA ? 0 : RETRY.retries + 1);
    });

    test(`${path}: a source body longer than its size is retried, never stored long`, async () => {
      const { ctx, task, dest } = setup({ data, reads: [{ long: 10 }, 'ok'] });
      assert.deepEqual(await copyObject(ctx, task), { status: 'copied', bytes: data.length, attempts: 2 });
      assert.equal(failedWrites(dest).length, data === DATA ? 0 : 1);
      if (data !== DATA) assert.ok(dest.writes[0]!.error instanceof StoreError);
      assert.deepEqual(dest.get(KEY)?.data, data);
    });

    test(`${path}: a source body that errors midway (socket reset) is retried`, async () => {
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      const { ctx, task, dest } = setup({ data, reads: [{ failAfter: 1_000, error: reset }, 'ok'] });
      assert.deepEqual(await copyObject(ctx, task), { status: 'copied', bytes: data.length, attempts: 2 });
      assert.equal(failedWrites(dest).length, data === DATA ? 0 : 1, 'a streamed write saw the body fail');
      assert.deepEqual(dest.get(KEY)?.data, data);
      assert.equal(ctx.stats.bytesStreamed, data === DATA ? data.length : data.length + 1_000);
    });
  }

  test('a source body failing with an unknown error midway → failed (fatal), not stored', async () => {
    const { ctx, task, dest } = setup({ reads: [{ failAfter: 1_000, error: new Error('disk on fire') }] });
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.attempts, 1);
    assert.deepEqual(dest.keys(), []);
  });

  test('dry run: no read, no write, reported as copied with 0 attempts', async () => {
    const { ctx, task, source, dest, pacer } = setup({ ctx: { dryRun: true } });
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'copied', bytes: DATA.length, attempts: 0 });
    assert.equal(reads(source).length, 0);
    assert.equal(dest.writes.length, 0);
    assert.deepEqual(ctx.stats.requests, { list: 0, head: 0, get: 0, put: 0, copy: 0 });
    assert.equal(pacer.succeededCalls, 0);
  });

  test('dry run with server-side copy enabled makes no copy either', async () => {
    const { ctx, task, dest } = setup({
      ctx: { dryRun: true, serverSide: true },
      serverCopy: 'copy',
    });
    await copyObject(ctx, task);
    assert.equal(dest.callsOf('copy').length, 0);
  });

  test('the MD5 the destination reports differs: retried, then failed', async () => {
    const wrong = { etag: 'f'.repeat(32) };
    const { ctx, task, dest } = setup({ writes: [wrong, wrong, wrong, wrong, wrong] });
    const outcome = await copyObject(ctx, task);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.attempts, RETRY.retries + 1);
    assert.match((outcome as { reason: string }).reason, /MD5/);
    assert.equal(dest.writes.length, RETRY.retries + 1);
    assert.equal(ctx.stats.retries, RETRY.retries);
  });

  test('a wrong MD5 once, then the right one: copied at attempt 2', async () => {
    const { ctx, task } = setup({ writes: [{ etag: 'f'.repeat(32) }, 'ok'] });
    assert.deepEqual(await copyObject(ctx, task), { status: 'copied', bytes: DATA.length, attempts: 2 });
  });

  test('the MD5 comparison ignores case', async () => {
    const { ctx, task } = setup({ writes: [{ etag: md5(DATA).toUpperCase() }] });
    assert.equal((await copyObject(ctx, task)).status, 'copied');
  });

  test('a destination reporting a multipart ETag is not compared', async () => {
    const { ctx, task } = setup({ writes: [{ etag: `${'f'.repeat(32)}-2` }] });
    assert.equal((await copyObject(ctx, task)).status, 'copied');
  });

  test('server-side copy when allowed and possible: no read, no write', async () => {
    const { ctx, task, source, dest } = setup({
      ctx: { serverSide: true },
      source: { contentType: 'application/octet-stream' },
      serverCopy: 'copy',
    });
    task.item = item({ contentType: 'image/webp', acl: 'private' });
    const copied: Array<{ source: ObjectStore; options: Omit<WriteOptions, 'md5'> }> = [];
    const copyFrom = dest.copyFrom!;
    dest.copyFrom = (from, sourceKey, key, options) => {
      copied.push({ source: from, options });
      return copyFrom(from, sourceKey, key, options);
    };
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'copied', bytes: DATA.length, attempts: 1 });
    assert.equal(reads(source).length, 0);
    assert.equal(dest.writes.length, 0);
    assert.deepEqual(
      dest.callsOf('copy').map(({ key, sourceKey }) => ({ key, sourceKey })),
      [{ key: KEY, sourceKey: KEY }],
    );
    assert.equal(copied.length, 1);
    const { options } = copied[0]!;
    assert.equal(copied[0]!.source, source);
    assert.equal(options.size, DATA.length);
    assert.equal(options.contentType, 'image/webp');
    assert.equal(options.acl, 'private');
    assert.equal(options.cacheControl, ctx.cacheControl);
    assert.equal(ctx.stats.requests.copy, 1);
    // What the copy made: the source's bytes under the key, with the metadata it was given.
    const made = dest.get(KEY);
    assert.deepEqual(made?.data, DATA);
    assert.deepEqual(
      [made?.contentType, made?.acl, made?.cacheControl],
      ['image/webp', 'private', ctx.cacheControl],
    );
  });

  test('server-side copy that answers "cannot" falls back to streaming', async () => {
    const { ctx, task, source, dest } = setup({ ctx: { serverSide: true }, serverCopy: 'decline' });
    assert.equal((await copyObject(ctx, task)).status, 'copied');
    assert.equal(dest.callsOf('copy').length, 1);
    assert.equal(reads(source).length, 1);
    assert.deepEqual(dest.get(KEY)?.data, DATA);
  });

  test('server-side copy is not tried unless the run allows it', async () => {
    const { ctx, task, dest } = setup({ serverCopy: 'copy' });
    assert.equal((await copyObject(ctx, task)).status, 'copied');
    assert.equal(dest.callsOf('copy').length, 0);
    assert.equal(dest.writes.length, 1);
  });

  test('an aborted run reports interrupted, without further attempts', async () => {
    const { ctx, task, controller, source } = setup({});
    source.inject({
      op: 'read',
      fault: () => {
        controller.abort();
        throw new StoreError('retryable', 'reset');
      },
    });
    const outcome = await copyObject(ctx, task);
    assert.deepEqual(outcome, { status: 'failed', reason: 'interrupted', attempts: 1 });
  });
});
