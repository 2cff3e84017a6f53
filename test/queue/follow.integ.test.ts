/**
 * `jobs --follow` end to end, with real components: PostgreSQL (a fake Mastodon 4.6 instance),
 * Redis, two s3rver stores (a recording proxy in front of the destination) and the CLI
 * spawned as an admin runs it: `jobs --follow`, `worker` processes, `status`.
 *
 * - The bulk pass, then rows written while it follows (new media; one avatar replaced twice,
 *   so the same row is a new batch each time) reach the destination through the workers;
 *   `status` shows the follower's pass and lag; SIGTERM ends it after the pass.
 * - A pass waits for its batches: with no worker running its positions do not move; killed -9
 *   and restarted once a worker is back, every object arrives, each copied once, and a row
 *   changed meanwhile is copied too.
 * - A worker killed -9 mid-pass: the pass waits until another worker redoes its batch.
 * - One follower per state file (`sync --follow` and `jobs --follow` share the lock); bad
 *   flags exit 2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { type FakeRows, fakeInstance, referencedKeys, snowflake } from '../../dev/fake-instance.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { hasStackTrace, runCli } from '../helpers/cli.ts';
import { type JsonLinesCli, startJsonLines } from '../helpers/json-lines.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';
import {
  assertClean,
  describeRun,
  fetchObject,
  md5,
  parsePath,
  plainPuts,
  putObjects,
  type RunningCli,
  removeTempInis,
  s3Section,
  seedDatabase,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'JFOL-SRC-ACCESS-1', secretAccessKey: 'jfol-src-Secret-5t6y7u' };
const DEST_KEYS = { accessKeyId: 'JFOL-DST-ACCESS-2', secretAccessKey: 'jfol-dst-Secret-1q2w3e' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];

const rows: FakeRows = fakeInstance({ media: 50, seed: 41 });
const initialKeys = referencedKeys(rows);
const prefix = testPrefix('jfollow');

let world: World;
let db: TestDatabase;
let sourceClient: S3Client;
let destClient: S3Client;
let proxy: RecordingProxy;
let ini: string;
const running: RunningCli[] = [];
const followers: JsonLinesCli[] = [];

const bytesOf = (k: CatalogKey) => uniqueBytes(k);

function worker(): RunningCli {
  const run = startCli(['worker', '--config', ini, '--log-level', 'warn'], 240_000);
  running.push(run);
  return run;
}

function startFollower(...args: string[]): JsonLinesCli {
  const follower = startJsonLines([
    'jobs',
    '--follow',
    '--json',
    '--interval',
    '1s',
    '--config',
    ini,
    ...args,
  ]);
  followers.push(follower);
  return follower;
}

interface FollowStatus {
  pass: number;
  lagSeconds: number;
  pendingBatches: number;
}

async function followStatus(): Promise<FollowStatus | null> {
  const result = await runCli(['status', '--config', ini, '--json']);
  assert.equal(result.code, 0, describeRun(result));
  return (JSON.parse(result.stdout) as { follow: FollowStatus | null }).follow;
}

/** New media rows (the files stored at the source first, as Mastodon does), keys returned. */
async function addMedia(count: number, name: string): Promise<CatalogKey[]> {
  const base = Date.now();
  const media = Array.from({ length: count }, (_, i) => ({
    id: snowflake(base + i, i),
    type: 0,
    file_file_name: `${name}${String(i).padStart(2, '0')}aaaabbbb.png`,
    file_content_type: 'image/png',
    file_file_size: null,
    file_storage_schema_version: 1,
    remote_url: '',
  }));
  const keys = media.flatMap((row) => keysForRow('media_attachments', row));
  await storeAtSource(keys);
  await seedDatabase(db, { media_attachments: media });
  return keys;
}

async function storeAtSource(keys: readonly CatalogKey[]): Promise<void> {
  await putObjects(
    sourceClient,
    'jfol-source',
    keys.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
  );
}

/** Gives a local account a new avatar file (a new key), as Mastodon does on an upload. */
async function replaceAvatar(account: Record<string, unknown>, file: string): Promise<CatalogKey[]> {
  const replaced = { ...account, avatar_file_name: file, avatar_content_type: 'image/png' };
  const keys = keysForRow('accounts', replaced).filter((k) => k.attachment === 'avatar');
  await storeAtSource(keys);
  await db.client.query(
    "UPDATE accounts SET avatar_file_name = $2, avatar_content_type = 'image/png', avatar_updated_at = now() WHERE id = $1",
    [account['id'], file],
  );
  return keys;
}

async function assertAtDestination(keys: readonly CatalogKey[]): Promise<void> {
  for (const k of keys) {
    const got = await fetchObject(destClient, 'jfol-dest', k.key);
    assert.equal(got.md5, md5(bytesOf(k)), `${k.key} byte-identical`);
    assert.equal(got.contentType, k.contentType, `${k.key} content type`);
  }
}

/** Copied by passes after line `from`, then a pass with nothing left to copy (lag 0). */
function caughtUp(follower: JsonLinesCli, from: number, copies: number) {
  let copiedSince = 0;
  return follower.waitFor((line) => {
    const index = follower.lines.indexOf(line);
    if (index < from) return false;
    copiedSince += Number(line['copied']);
    return copiedSince >= copies && line['lagSeconds'] === 0;
  }, 90_000);
}

const positionOf = (table: string) =>
  (JSON.parse(readFileSync(`${ini}.state.json`, 'utf8')) as { lastCompleted: Record<string, string> })
    .lastCompleted[table];

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_jfollow',
    source: { bucket: 'jfol-source', keys: SOURCE_KEYS },
    dest: { buckets: ['jfol-dest'], keys: DEST_KEYS },
    rows,
    objects: initialKeys.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    destProxy: {},
  });
  ({ db, sourceClient, destClient } = world);
  proxy = world.destProxy!;
  ini = tempIni(
    s3Section('source', { endpoint: world.source.endpoint, ...SOURCE_KEYS }, 'jfol-source') +
      s3Section('destination', { endpoint: proxy.endpoint, ...DEST_KEYS }, 'jfol-dest') +
      db.iniSection() +
      `[queue]\nredis = ${REDIS_URL}\nprefix = ${prefix}\nbatch_size = 20\nlock_seconds = 3\nconcurrency = 4\n`,
  );
});

after(async () => {
  for (const run of [...running, ...followers]) run.child.kill('SIGKILL');
  await Promise.all([...running, ...followers].map((r) => r.done.catch(() => {})));
  removeTempInis();
  await dropPrefix(REDIS_URL, prefix).catch(() => {});
  await world?.stop();
});

describe('jobs --follow', () => {
  it('bulk, then changes through the workers; status shows the lag; SIGTERM ends it after the pass', async () => {
    const workers = [worker(), worker()];
    const follower = startFollower();
    const bulk = await follower.waitFor((l) => l['pass'] === 1);
    assert.equal(bulk['copied'], initialKeys.length, JSON.stringify(bulk));
    assert.equal(bulk['failed'], 0);
    const live = await followStatus();
    assert.ok(live && live.pass >= 1, JSON.stringify(live));

    // One follower per state file, whichever command: sync --follow and a plain sync are refused.
    const other = await runCli(['sync', '--follow', '--config', ini], { timeoutMs: 30_000 });
    assert.equal(other.code, 2, describeRun(other));
    assert.match(other.stderr, /another jobs --follow is running on this state file \(pid \d+/);
    const plain = await runCli(['sync', '--config', ini], { timeoutMs: 30_000 });
    assert.equal(plain.code, 2, describeRun(plain));
    assert.match(plain.stderr, /a jobs --follow \(pid \d+/);

    const account = rows.accounts!.find((a) => a['avatar_file_name'] && a['domain'] === null)!;
    let from = follower.lines.length;
    const added = [...(await addMedia(4, 'jfollow')), ...(await replaceAvatar(account, 'jfavatar0001.png'))];
    await caughtUp(follower, from, added.length);
    await assertAtDestination(added);

    // The same row changed again: a new batch, not one "already done".
    from = follower.lines.length;
    const again = await replaceAvatar(account, 'jfavatar0002.png');
    await caughtUp(follower, from, again.length);
    await assertAtDestination(again);

    const text = await runCli(['status', '--config', ini]);
    assert.match(text.stdout, /jobs --follow: pass \d+, lag [\d.]+ s/);

    follower.child.kill('SIGTERM');
    const result = await follower.done;
    assert.equal(result.code, 0, describeRun(result));
    assertClean(result, SECRETS);
    const summary = follower.lines.at(-1)!;
    assert.ok(Number(summary['passes']) >= 3, JSON.stringify(summary));
    assert.equal(summary['lagSeconds'], 0);
    assert.equal(summary['failed'], 0);
    assert.ok(Number(summary['copied']) >= initialKeys.length + added.length + again.length);
    assert.ok(Date.parse(positionOf('accounts')!) > Date.now() - 60_000, 'positions saved');
    assert.equal(await followStatus(), null, 'the live status is gone with the follower');
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.done));
  });

  it('a pass waits for its batches; kill -9 while they wait, restart: each object copied once', async () => {
    const before = positionOf('media_attachments')!;
    const added = await addMedia(10, 'jfwait');
    const addedKeys = new Set(added.map((k) => k.key));
    proxy.reset();
    const first = startFollower();
    // No worker runs: the pass queued its batches and waits, lag growing.
    const deadline = Date.now() + 30_000;
    let live: FollowStatus | null = null;
    while (Date.now() < deadline) {
      live = await followStatus();
      if (live && live.pendingBatches > 0 && live.lagSeconds >= 2) break;
      await sleep(250);
    }
    assert.ok(live && live.pendingBatches > 0 && live.lagSeconds >= 2, JSON.stringify(live));
    assert.equal(first.lines.length, 0, 'no pass ended without the workers');
    first.child.kill('SIGKILL');
    await first.done;
    assert.equal(positionOf('media_attachments'), before, 'a pass not finished moves no position');
    // A row changed while no follower runs: the restarted pass has the same id, but this
    // row's batch holds another key now, so it is queued, not taken for one already done.
    const account = rows.accounts!.filter((a) => a['avatar_file_name'] && a['domain'] === null).at(-1)!;
    const changed = await replaceAvatar(account, 'jfavatarwait.png');

    const w = worker();
    const second = startFollower();
    await caughtUp(second, 0, 0);
    await assertAtDestination([...added, ...changed]);
    const puts = plainPuts(proxy.requests).filter((r) => addedKeys.has(parsePath(r.path).key));
    const perKey = new Map<string, number>();
    for (const put of puts)
      perKey.set(parsePath(put.path).key, (perKey.get(parsePath(put.path).key) ?? 0) + 1);
    assert.deepEqual(
      [...perKey.values()].filter((n) => n !== 1),
      [],
      'each object PUT once, though its rows were queued twice',
    );
    assert.equal(perKey.size, added.length);
    assert.ok(positionOf('media_attachments')! > before, 'the position moved once the pass was done');
    second.child.kill('SIGTERM');
    const result = await second.done;
    assert.equal(result.code, 0, describeRun(result));
    w.child.kill('SIGTERM');
    await w.done;
  });

  it('a worker killed -9 mid-pass: the pass waits until another worker redoes its batch', async () => {
    proxy.reset();
    const added = await addMedia(30, 'jfkilled');
    const follower = startFollower();
    const from = 0;
    const addedKeys = new Set(added.map((k) => k.key));
    const doomed = startCli(
      ['worker', '--config', ini, '--concurrency', '1', '--log-level', 'warn'],
      120_000,
    );
    running.push(doomed);
    const deadline = Date.now() + 30_000;
    const putsOfAdded = () => plainPuts(proxy.requests).filter((r) => addedKeys.has(parsePath(r.path).key));
    while (putsOfAdded().length < 3 && Date.now() < deadline) await sleep(10);
    doomed.child.kill('SIGKILL');
    await doomed.done;
    assert.ok(putsOfAdded().length < added.length, 'killed mid-pass');
    // Its batch is stalled until lock_seconds (3 s) pass; then the other worker takes it.
    const rescuer = worker();
    const line = await caughtUp(
      follower,
      from,
      added.length - putsOfAdded().filter((r) => r.status === 200).length,
    );
    assert.equal(line['failed'], 0);
    await assertAtDestination(added);
    follower.child.kill('SIGTERM');
    assert.equal((await follower.done).code, 0);
    rescuer.child.kill('SIGTERM');
    await rescuer.done;
  });

  it('bad input exits 2 with a clear message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--since', '2d'], /--since goes with jobs --follow/],
      [['--follow', '--limit', '5'], /jobs --follow copies every change .* --limit/],
      [['--follow', '--retry-failed'], /cannot be combined with --retry-failed/],
      [['--interval', '5s'], /--interval and --until go with jobs --follow/],
      [['--follow', '--interval', 'soon'], /--interval "soon"/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['jobs', ...flags, '--config', ini], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${flags.join(' ')}: ${describeRun(r)}`);
      assert.match(r.stderr, message);
      assert.equal(hasStackTrace(r.stderr), false);
    }
  });
});
