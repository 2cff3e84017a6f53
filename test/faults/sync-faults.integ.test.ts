/**
 * `sync` through fault-injecting proxies on both stores (dev/faults.ts): 2,000+ objects, 10 %
 * of requests on each side answered with 503 SlowDown, 500, 429, a reset before the headers,
 * a reset mid-body or a truncated body. Every object must end at the destination
 * MD5-identical with its Content-Type and Cache-Control, nothing partial or extra, and the
 * summary's retry and throttle counts must equal what the proxies injected (each fault costs
 * exactly one failed attempt; faults on the start-up bucket check are retried before the run's
 * counters exist, so they are left out).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type FaultProxy, type FaultRates, startFaultProxy } from '../../dev/faults.ts';
import type { S3Server } from '../../dev/s3.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  describeRun,
  fetchAll,
  inParallel,
  listBucket,
  MASTODON_CACHE_CONTROL,
  md5,
  parseSummary,
  removeTempInis,
  s3Section,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'FAULT-SRC-ACCESS-1', secretAccessKey: 'fault-src-Secret-z1x2c3' };
const DEST_KEYS = { accessKeyId: 'FAULT-DST-ACCESS-2', secretAccessKey: 'fault-dst-Secret-v4b5n6' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];

/** `npm run soak` scales the run up: SOAK_MEDIA media rows, SOAK_FAULT_SCALE × the rates. */
const MEDIA_ROWS = Number(process.env['SOAK_MEDIA'] ?? 760);
const SCALE = Number(process.env['SOAK_FAULT_SCALE'] ?? 1);

/** 10 % of requests in all, spread over every kind of fault. */
const RATES: FaultRates = Object.fromEntries(
  Object.entries({
    slowDown: 0.02,
    internal: 0.015,
    tooMany: 0.015,
    resetBeforeHeaders: 0.02,
    resetMidBody: 0.015,
    truncated: 0.015,
  }).map(([kind, rate]) => [kind, rate * SCALE]),
);

const rows = fakeInstance({ media: MEDIA_ROWS, seed: 2026 });
const keys = referencedKeys(rows);
const BYTES = new Map(keys.map((k) => [k.key, uniqueBytes(k)]));

let world: World;
let db: TestDatabase;
let source: S3Server;
let dest: S3Server;
let destClient: S3Client;
let sourceFaults: FaultProxy;
let destFaults: FaultProxy;

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_faults',
    source: { bucket: 'fault-source', keys: SOURCE_KEYS },
    dest: { buckets: ['fault-dest'], keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: BYTES.get(k.key)!, contentType: k.contentType })),
  });
  ({ db, source, dest, destClient } = world);
  [sourceFaults, destFaults] = await Promise.all([
    startFaultProxy({ target: source.endpoint, rates: RATES, seed: 11 }),
    startFaultProxy({ target: dest.endpoint, rates: RATES, seed: 22 }),
  ]);
});

after(async () => {
  removeTempInis();
  await Promise.all([sourceFaults?.stop(), destFaults?.stop()]);
  await world?.stop();
});

describe('sync under injected faults', () => {
  it('2,000+ objects, 10 % faults on both stores: every object exact, retries match the faults', async () => {
    assert.ok(keys.length >= 2000, `${keys.length} keys`);
    const ini = tempIni(
      s3Section('source', { endpoint: sourceFaults.endpoint, ...SOURCE_KEYS }, 'fault-source') +
        s3Section('destination', { endpoint: destFaults.endpoint, ...DEST_KEYS }, 'fault-dest') +
        db.iniSection() +
        // Ten retries: an object fails for good only after 11 faulty attempts in a row.
        '[sync]\nretries = 10\n',
    );
    const result = await runCli(
      ['sync', '--config', ini, '--json', '--no-progress', '--concurrency', '16', '--log-level', 'warn'],
      {
        timeoutMs: Math.max(600_000, MEDIA_ROWS * 500),
      },
    );
    assertClean(result, SECRETS);
    assert.equal(result.code, 0, describeRun(result));
    const summary = parseSummary(result) as ReturnType<typeof parseSummary> & {
      retries: number;
      throttled: number;
    };
    assert.deepEqual(
      { copied: summary.copied, skipped: summary.skipped, missing: summary.missing, failed: summary.failed },
      { copied: keys.length, skipped: 0, missing: 0, failed: 0 },
    );

    const injected = [...sourceFaults.injected, ...destFaults.injected];
    // The start-up check: a one-key listing of the bucket (lookups ask for 18 keys or more).
    const isBucketCheck = (f: { method: string; path: string }) =>
      f.method === 'GET' &&
      f.path.split('?')[0]!.split('/').filter(Boolean).length === 1 &&
      /[?&]max-keys=1(&|$)/.test(f.path);
    const during = injected.filter((f) => !isBucketCheck(f));
    const byKind = Object.fromEntries(
      ['slowDown', 'internal', 'tooMany', 'resetBeforeHeaders', 'resetMidBody', 'truncated'].map((k) => [
        k,
        during.filter((f) => f.kind === k).length,
      ]),
    );
    const requests = sourceFaults.requests() + destFaults.requests();
    // Every kind was exercised, at about the configured rate.
    for (const [kind, n] of Object.entries(byKind))
      assert.ok(n > 0, `no ${kind} injected: ${JSON.stringify(byKind)}`);
    assert.ok(injected.length > requests * 0.05, `${injected.length} faults in ${requests} requests`);
    assert.equal(
      summary.retries,
      during.length,
      `retries ${summary.retries}, injected ${JSON.stringify(byKind)}`,
    );
    assert.equal(summary.throttled, byKind['slowDown']! + byKind['tooMany']!, 'throttled = SlowDown + 429');

    // The destination: exactly the keys, byte-identical, with Mastodon's metadata.
    const listed = await listBucket(destClient, 'fault-dest');
    assert.deepEqual(
      [...listed.keys()].sort(),
      keys.map((k) => k.key).sort(),
      'nothing missing, nothing extra',
    );
    const fetched = await fetchAll(
      destClient,
      'fault-dest',
      keys.map((k) => k.key),
    );
    const wrong = keys
      .filter((k) => fetched.get(k.key)!.md5 !== md5(BYTES.get(k.key)!))
      .map(
        (k) =>
          `${k.key}: ${fetched.get(k.key)!.size} bytes, expected ${BYTES.get(k.key)!.length}; faults on it: ${JSON.stringify(injected.filter((f) => decodeURIComponent(f.path).includes(k.key)))}`,
      );
    assert.deepEqual(wrong, [], 'no partial or corrupted object');
    const heads = await inParallel(keys, 16, (k) =>
      destClient.send(new HeadObjectCommand({ Bucket: 'fault-dest', Key: k.key })),
    );
    keys.forEach((k, i) => {
      assert.equal(heads[i]!.ContentType, k.contentType, `${k.key} Content-Type`);
      assert.equal(heads[i]!.CacheControl, MASTODON_CACHE_CONTROL, `${k.key} Cache-Control`);
    });
    console.log(
      `faults: ${injected.length} in ${requests} requests (${JSON.stringify(byKind)}), retries ${summary.retries}, throttled ${summary.throttled}, ${keys.length} objects`,
    );
  });
});
