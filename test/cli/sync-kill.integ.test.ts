/**
 * `sync` interrupted: killed outright (SIGKILL) mid-run and run again, and stopped with one
 * Ctrl-C (SIGINT). The destination sits behind a proxy adding 20 ms per request, so a run of
 * ~400 objects lasts a few seconds and can be interrupted part-way. Nothing complete may be
 * copied twice, and nothing partial may be left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  assertCounts,
  describeRun,
  fetchAll,
  listBucket,
  md5,
  objectRequests,
  parsePath,
  parseSummary,
  plainPuts,
  type RunningCli,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'KILL-SRC-ACCESS-1', secretAccessKey: 'kill-src-Secret-a1b2c3' };
const DEST_KEYS = { accessKeyId: 'KILL-DST-ACCESS-2', secretAccessKey: 'kill-dst-Secret-d4e5f6' };
const SOURCE_BUCKET = 'kill-source';
const BUCKETS = { killed: 'dst-killed', interrupted: 'dst-interrupted' } as const;
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];
const ARGS = ['--concurrency', '4', '--json', '--no-progress', '--log-level', 'warn'];

const rows = fakeInstance({ media: 140, seed: 31 });
const keys = referencedKeys(rows);
/** Real sample bytes plus 8–24 KB of filler each: several MB in all. */
const BYTES = new Map(keys.map((k, i) => [k.key, uniqueBytes(k, 8192 + ((i * 7919) % 16384))]));
const EXPECTED_MD5 = new Map([...BYTES].map(([key, body]) => [key, md5(body)]));

let world: World;
let db: TestDatabase;
let source: S3Server;
let dest: S3Server;
let destClient: S3Client;
const proxies: RecordingProxy[] = [];

async function proxyTo(latencyMs = 0): Promise<RecordingProxy> {
  const proxy = await startProxy({ target: dest.endpoint, latencyMs });
  proxies.push(proxy);
  return proxy;
}

function config(destEndpoint: string, bucket: string): string {
  return tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, SOURCE_BUCKET) +
      s3Section('destination', { endpoint: destEndpoint, ...DEST_KEYS }, bucket) +
      db.iniSection(),
  );
}

/** Waits until the destination holds at least `min` objects (and the run is still going). */
async function waitForProgress(run: RunningCli, bucket: string, min: number): Promise<number> {
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const count = (await listBucket(destClient, bucket)).size;
    if (count >= min) return count;
    if (exited)
      throw new Error(`the run ended before ${min} objects were copied:\n${describeRun(await run.done)}`);
    await sleep(40);
  }
  throw new Error(`fewer than ${min} objects after 45 s`);
}

/** Keys at the destination whose bytes are the source's (complete), and the others. */
async function destinationState(bucket: string): Promise<{ complete: Set<string>; partial: string[] }> {
  const listed = [...(await listBucket(destClient, bucket)).keys()];
  const fetched = await fetchAll(destClient, bucket, listed);
  const complete = new Set<string>();
  const partial: string[] = [];
  for (const key of listed) {
    if (fetched.get(key)!.md5 === EXPECTED_MD5.get(key)) complete.add(key);
    else partial.push(key);
  }
  return { complete, partial };
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_synckill',
    source: { bucket: SOURCE_BUCKET, keys: SOURCE_KEYS },
    dest: { buckets: Object.values(BUCKETS), keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: BYTES.get(k.key)!, contentType: k.contentType })),
  });
  ({ db, source, dest, destClient } = world);
});

after(async () => {
  removeTempInis();
  await Promise.all(proxies.map((p) => p.stop()));
  await world?.stop();
});

describe('sync interrupted', () => {
  it('SIGKILL mid-run, then a re-run completes without copying anything complete twice', async (t) => {
    const slow = await proxyTo(20);
    const run = startCli(['sync', '--config', config(slow.endpoint, BUCKETS.killed), ...ARGS]);
    await waitForProgress(run, BUCKETS.killed, 20);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL', describeRun(killed));
    assertClean(killed, SECRETS);
    // Let requests already forwarded by the proxy land, then cut it off.
    await slow.stop();
    await sleep(300);

    const { complete, partial } = await destinationState(BUCKETS.killed);
    t.diagnostic(
      `killed after ${killed.ms} ms: ${complete.size} of ${keys.length} complete, ${partial.length} partial`,
    );
    assert.ok(
      complete.size > 0 && complete.size < keys.length,
      `${complete.size} of ${keys.length} complete`,
    );

    const recorder = await proxyTo();
    const config2 = config(recorder.endpoint, BUCKETS.killed);
    const rerun = await runCli(['sync', '--config', config2, ...ARGS], { timeoutMs: 60_000 });
    assert.equal(rerun.code, 0, describeRun(rerun));
    assertClean(rerun, SECRETS);
    const summary = parseSummary(rerun);
    assert.equal(summary.copied + summary.skipped, keys.length, describeRun(rerun));
    assert.equal(summary.failed, 0);
    assert.equal(summary.missing, 0);
    assert.ok(summary.skipped >= complete.size, `${summary.skipped} skipped, ${complete.size} were complete`);
    t.diagnostic(`re-run: ${summary.copied} copied, ${summary.skipped} skipped in ${rerun.ms} ms`);

    const putKeys = [...plainPuts(recorder.requests), ...objectRequests(recorder.requests, 'POST')].map(
      (r) => parsePath(r.path).key,
    );
    assert.deepEqual(
      putKeys.filter((key) => complete.has(key)),
      [],
      'no complete object is copied again',
    );
    assert.equal(new Set(putKeys).size, summary.copied, 'one PUT per copied object');

    const after = await destinationState(BUCKETS.killed);
    assert.deepEqual(after.partial, [], 'every object has the source MD5');
    assert.equal(after.complete.size, keys.length, 'all objects at the destination');

    await t.test('a third run finds everything there for ≤ 5% requests per object', async () => {
      recorder.reset();
      const noop = await runCli(['sync', '--config', config2, ...ARGS], { timeoutMs: 60_000 });
      assert.equal(noop.code, 0, describeRun(noop));
      assertClean(noop, SECRETS);
      assertCounts(noop, { copied: 0, skipped: keys.length, missing: 0, failed: 0 });
      assert.deepEqual(objectRequests(recorder.requests), [], 'no object request');
      assert.ok(
        recorder.requests.length <= keys.length * 0.05,
        `${recorder.requests.length} requests for ${keys.length} objects`,
      );
    });
  });

  it('one SIGINT prints the summary and exits 130 within seconds, leaving no partial object', async (t) => {
    const slow = await proxyTo(20);
    const run = startCli(['sync', '--config', config(slow.endpoint, BUCKETS.interrupted), ...ARGS]);
    await waitForProgress(run, BUCKETS.interrupted, 20);
    const signalled = Date.now();
    run.child.kill('SIGINT');
    const result = await run.done;
    const seconds = (Date.now() - signalled) / 1000;
    assert.equal(result.code, 130, describeRun(result));
    assertClean(result, SECRETS);
    assert.ok(seconds < 5, `exited ${seconds.toFixed(1)} s after SIGINT`);
    assert.match(result.stderr, /SIGINT/);

    const summary = parseSummary(result);
    t.diagnostic(`exit ${seconds.toFixed(2)} s after SIGINT; ${summary.copied} of ${keys.length} copied`);
    assert.ok(summary.copied > 0 && summary.copied < keys.length, describeRun(result));
    assert.equal(summary.failed, 0, describeRun(result));

    const state = await destinationState(BUCKETS.interrupted);
    assert.deepEqual(state.partial, [], 'no partial object');
    assert.equal(state.complete.size, summary.copied, 'the summary counts what is at the destination');
  });
});
