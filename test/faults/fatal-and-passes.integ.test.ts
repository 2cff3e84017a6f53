/**
 * How a run ends when a store misbehaves beyond one key's retries:
 * - a destination that refuses every write (a revoked or read-only key) stops `sync` at once:
 *   one line naming the destination and what it refused, exit 1, the summary still written
 *   (`stopped`), and far fewer write attempts than keys — not key after key until the end;
 * - a transient failure that outlasts a key's retry budget is copied on a later retry pass
 *   (`[sync] retry_passes`), so the run ends with nothing failed; with `retry_passes = 0` the
 *   same run ends with those keys failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import { runCli } from '../helpers/cli.ts';
import {
  assertClean,
  describeRun,
  listBucket,
  removeTempInis,
  s3Section,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'FATAL-SRC-ACCESS-1', secretAccessKey: 'fatal-src-Secret-p0o9i8' };
const DEST_KEYS = { accessKeyId: 'FATAL-DST-ACCESS-2', secretAccessKey: 'fatal-dst-Secret-u7y6t5' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];

const rows = fakeInstance({ media: 80, seed: 31 });
const keys = referencedKeys(rows);
/** Every `original` GET is reset twice; these media originals are checked by name. */
const FLAKY = keys.filter(
  (k) => k.table === 'media_attachments' && k.style === 'original' && k.id.endsWith('7'),
);

let world: World;
let refusing: RecordingProxy;
let flakySource: RecordingProxy;

function ini(sourceEndpoint: string, destEndpoint: string, bucket: string, sync: string): string {
  return tempIni(
    s3Section('source', { endpoint: sourceEndpoint, ...SOURCE_KEYS }, 'fatal-source') +
      s3Section('destination', { endpoint: destEndpoint, ...DEST_KEYS }, bucket) +
      world.db.iniSection() +
      `[sync]\n${sync}\n`,
  );
}

async function sync(config: string) {
  const result = await runCli(['sync', '--json', '--no-progress', '--concurrency', '8', '--config', config], {
    timeoutMs: 120_000,
  });
  assertClean(result, SECRETS);
  return { result, summary: JSON.parse(result.stdout.trim().split('\n').pop() || '{}') };
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_fatal',
    source: { bucket: 'fatal-source', keys: SOURCE_KEYS },
    dest: { buckets: ['refused', 'passes', 'no-passes'], keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
  });
  refusing = await startProxy({ target: world.dest.endpoint, refuseWrites: true });
  assert.ok(FLAKY.length >= 4, `${FLAKY.length} flaky keys`);
});

after(async () => {
  removeTempInis();
  await refusing?.stop();
  await flakySource?.stop();
  await world?.stop();
});

describe('a store that refuses the run stops it', () => {
  it('a destination refusing every write: exit 1 at once, one line naming it, summary written', async () => {
    const { result, summary } = await sync(
      ini(world.source.endpoint, refusing.endpoint, 'refused', 'retries = 5'),
    );
    assert.equal(result.code, 1, describeRun(result));
    const refusals = result.stderr.split('\n').filter((l) => /refused the run/.test(l));
    assert.equal(refusals.length, 1, result.stderr);
    assert.match(
      refusals[0]!,
      /the destination \(s3 .*\/refused\) refused the run: PUT .*HTTP 403 AccessDenied/,
    );
    assert.match(String(summary.stopped), /destination .* refused the run/);
    const writes = refusing.requests.filter((r) => r.method === 'PUT').length;
    // At most the copies already in flight (concurrency 8), never one per key, never retried.
    assert.ok(writes <= 16, `${writes} writes tried for ${keys.length} keys`);
    assert.ok(summary.failed >= 1 && summary.failed <= 16, JSON.stringify(summary));
    assert.equal(summary.retries, 0, 'a refused write is not retried');
    assert.equal((await listBucket(world.destClient, 'refused')).size, 0, 'nothing was written');
  });
});

describe('retry passes', () => {
  before(async () => {
    flakySource = await startProxy({
      target: world.source.endpoint,
      resetGets: { match: '/original/', times: 2 },
    });
  });

  it('keys failing beyond their retry budget are copied on a later pass: nothing failed', async () => {
    flakySource.reset();
    // retries = 1: two attempts per pass, both reset for every original; the first pass fails them.
    const { result, summary } = await sync(
      ini(flakySource.endpoint, world.dest.endpoint, 'passes', 'retries = 1\nretry_passes = 2'),
    );
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(summary.failed, 0, JSON.stringify(summary));
    assert.ok(summary.retryPasses >= 1, JSON.stringify(summary));
    assert.ok(summary.retriedKeys >= FLAKY.length, JSON.stringify(summary));
    const stored = await listBucket(world.destClient, 'passes');
    for (const k of FLAKY) assert.ok(stored.has(k.key), k.key);
  });

  it('with retry_passes = 0 the same keys end failed', async () => {
    const fresh = await startProxy({
      target: world.source.endpoint,
      resetGets: { match: '/original/', times: 2 },
    });
    try {
      const { result, summary } = await sync(
        ini(fresh.endpoint, world.dest.endpoint, 'no-passes', 'retries = 1\nretry_passes = 0'),
      );
      assert.equal(result.code, 1, describeRun(result));
      assert.ok(summary.failed >= FLAKY.length, JSON.stringify(summary));
      assert.equal(summary.retryPasses, 0);
    } finally {
      await fresh.stop();
    }
  });
});
