/**
 * `sync --follow` end to end: the CLI spawned as an admin runs it, against a real PostgreSQL
 * database (a fake Mastodon 4.6 instance) and two s3rver processes, a recording proxy in
 * front of the destination. The bulk pass, then rows written while it follows (new media, a
 * replaced avatar, an account suspended) reach the destination byte for byte with their ACL;
 * SIGTERM ends it after the pass with the positions saved; a second follower on the same state
 * file is refused while the first lives and takes over once it is killed -9; bad flags exit 2.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type FakeRow,
  type FakeRows,
  fakeInstance,
  referencedKeys,
  snowflake,
} from '../../dev/fake-instance.ts';
import { type FaultProxy, startFaultProxy } from '../../dev/faults.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import type { CatalogKey, TableName } from '../../src/mastodon/types.ts';
import { hasStackTrace, runCli } from '../helpers/cli.ts';
import { type JsonLinesCli, startJsonLines } from '../helpers/json-lines.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  describeRun,
  fetchObject,
  listBucket,
  md5,
  parsePath,
  plainPuts,
  putObjects,
  removeTempInis,
  s3Section,
  seedDatabase,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'FOL-SRC-ACCESS-1', secretAccessKey: 'fol-src-Secret-3k4j5h' };
const DEST_KEYS = { accessKeyId: 'FOL-DST-ACCESS-2', secretAccessKey: 'fol-dst-Secret-8u7y6t' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];

const rows: FakeRows = fakeInstance({ media: 40, seed: 23 });
const initialKeys = referencedKeys(rows);
/** 8 % of requests on each store: 503 SlowDown, 500, 429, resets, truncated bodies. */
const FAULTS = {
  slowDown: 0.015,
  internal: 0.015,
  tooMany: 0.01,
  resetBeforeHeaders: 0.015,
  resetMidBody: 0.01,
  truncated: 0.015,
};

let world: World;
let db: TestDatabase;
let sourceClient: S3Client;
let destClient: S3Client;
let proxy: RecordingProxy;
let ini: string;

type Follower = JsonLinesCli;

function startFollower(args: readonly string[]): Follower {
  return startJsonLines(['sync', '--follow', '--json', '--no-progress', ...args]);
}

const bytesOf = (k: CatalogKey) => uniqueBytes(k);

async function assertAtDestination(keys: readonly CatalogKey[]): Promise<void> {
  for (const k of keys) {
    const got = await fetchObject(destClient, 'fol-dest', k.key);
    assert.equal(got.md5, md5(bytesOf(k)), `${k.key} byte-identical`);
    assert.equal(got.contentType, k.contentType, `${k.key} content type`);
  }
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_follow',
    source: { bucket: 'fol-source', keys: SOURCE_KEYS },
    dest: { buckets: ['fol-dest', 'fol-faults'], keys: DEST_KEYS },
    rows,
    objects: initialKeys.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    destProxy: { enforceAcl: true },
  });
  ({ db, sourceClient, destClient } = world);
  proxy = world.destProxy!;
  ini = tempIni(
    s3Section('source', { endpoint: world.source.endpoint, ...SOURCE_KEYS }, 'fol-source') +
      s3Section('destination', { endpoint: proxy.endpoint, ...DEST_KEYS }, 'fol-dest') +
      db.iniSection(),
  );
});

after(async () => {
  removeTempInis();
  await world?.stop();
});

describe('sync --follow', () => {
  it('bulk pass, then rows written while it follows are copied; SIGTERM ends it cleanly', async () => {
    const follower = startFollower(['--interval', '1s', '--config', ini]);
    const bulk = await follower.waitFor((l) => l['pass'] === 1);
    assert.equal(bulk['copied'], initialKeys.length, JSON.stringify(bulk));

    // What Mastodon does: the file is stored first, then the row is committed.
    const now = Date.now();
    const newMedia = [0, 1, 2, 3].map((i) => ({
      id: snowflake(now + i, i),
      type: 0,
      file_file_name: `follow${i}aaaabbbbcc.png`,
      file_content_type: 'image/png',
      file_file_size: null,
      file_storage_schema_version: 1,
      remote_url: '',
    }));
    const account = rows.accounts!.find((a) => a['avatar_file_name'] && a['domain'] === null)!;
    const replacedAvatar = {
      ...account,
      avatar_file_name: 'followavatar0001.png',
      avatar_content_type: 'image/png',
    };
    const added = [
      ...newMedia.flatMap((row) => keysForRow('media_attachments', row)),
      ...keysForRow('accounts', replacedAvatar).filter((k) => k.attachment === 'avatar'),
    ];
    await putObjects(
      sourceClient,
      'fol-source',
      added.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    );
    const passesBefore = follower.lines.length;
    await seedDatabase(db, { media_attachments: newMedia });
    await db.client.query(
      "UPDATE accounts SET avatar_file_name = 'followavatar0001.png', avatar_content_type = 'image/png', avatar_updated_at = now() WHERE id = $1",
      [account['id']],
    );

    // Copied by some pass after the writes, then a pass with nothing left: lag 0.
    let copiedSince = 0;
    await follower.waitFor((l) => {
      const index = follower.lines.indexOf(l);
      if (index < passesBefore) return false;
      copiedSince += Number(l['copied']);
      return copiedSince >= added.length && l['lagSeconds'] === 0;
    });
    await assertAtDestination(added);

    follower.child.kill('SIGTERM');
    const result = await follower.done;
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(hasStackTrace(result.stderr), false);
    for (const secret of SECRETS)
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret));
    const summary = follower.lines.at(-1)!;
    assert.ok(Number(summary['passes']) >= 2, JSON.stringify(summary));
    assert.equal(summary['lagSeconds'], 0);
    assert.equal(summary['copied'], initialKeys.length + added.length, JSON.stringify(summary));
    for (const line of follower.lines.slice(0, -1)) {
      assert.deepEqual(Object.keys(line).sort(), [
        'at',
        'copied',
        'dbSeconds',
        'failed',
        'found',
        'lagSeconds',
        'missing',
        'pass',
        'skipped',
      ]);
    }
    const state = JSON.parse(readFileSync(`${ini}.state.json`, 'utf8')) as {
      lastCompleted: Record<string, string>;
    };
    assert.ok(Date.parse(state.lastCompleted['media_attachments']!) >= now - 5000, 'positions saved');
    assert.equal(Boolean(readFileSafe(`${ini}.state.json.lock`)), false, 'lock released');
  });

  it('a suspended account: its media turn private at the destination while following', async () => {
    // As in the migration test: four media rows given to a local account, which gets suspended.
    const owner = rows.accounts!.find((a) => Number(a['id']) > 100 && a['domain'] === null)!;
    const mediaIds = rows.media_attachments!.slice(5, 9).map((m) => String(m['id']));
    await db.client.query('UPDATE media_attachments SET account_id = $1 WHERE id = ANY($2::bigint[])', [
      owner['id'],
      mediaIds,
    ]);
    const theirKeys = initialKeys.filter((k) => k.table === 'media_attachments' && mediaIds.includes(k.id));
    assert.ok(theirKeys.length >= 4);
    for (const k of theirKeys) assert.equal(await anonymousStatus(k.key), 200, `${k.key} public before`);
    const follower = startFollower(['--interval', '1s', '--config', ini]);
    await follower.waitFor((l) => l['pass'] === 1);
    await db.client.query('UPDATE accounts SET suspended_at = now() WHERE id = $1', [owner['id']]);
    const deadline = Date.now() + 30_000;
    let statuses: number[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(theirKeys.map((k) => anonymousStatus(k.key)));
      if (statuses.every((s) => s === 403)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    follower.child.kill('SIGTERM');
    const result = await follower.done;
    assert.equal(result.code, 0, describeRun(result));
    assert.deepEqual(
      statuses,
      theirKeys.map(() => 403),
      'suspended media are private',
    );
    await db.client.query('UPDATE accounts SET suspended_at = NULL WHERE id = $1', [owner['id']]);
  });

  it('a second follower on the same state file is refused; after kill -9 of the first it starts', async () => {
    const first = startFollower(['--interval', '1s', '--config', ini]);
    await first.waitFor((l) => l['pass'] === 1);
    const second = await runCli(['sync', '--follow', '--config', ini], { timeoutMs: 30_000 });
    assert.equal(second.code, 2, describeRun(second));
    assert.match(second.stderr, /another sync --follow is running on this state file \(pid \d+/);
    // A plain sync would record positions too: refused while the follower lives.
    const plain = await runCli(['sync', '--config', ini], { timeoutMs: 30_000 });
    assert.equal(plain.code, 2, describeRun(plain));
    assert.match(plain.stderr, /a sync --follow \(pid \d+ .*\) is using this state file/);
    first.child.kill('SIGKILL');
    await first.done;
    proxy.reset();
    const third = await runCli(
      ['sync', '--follow', '--until', '3s', '--interval', '1s', '--json', '--no-progress', '--config', ini],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(third.code, 0, describeRun(third));
    // Nothing was copied again: everything was done before the kill.
    assert.equal(
      plainPuts(proxy.requests).length,
      0,
      plainPuts(proxy.requests)
        .map((r) => parsePath(r.path).key)
        .join(' '),
    );
  });

  it('kill -9 mid-pass, restart: everything arrives, nothing that was complete is copied again', async () => {
    const newMedia = Array.from({ length: 40 }, (_, i) => ({
      id: snowflake(Date.now() + 100 + i, i),
      type: 0,
      file_file_name: `killed${String(i).padStart(2, '0')}aaaabbbb.png`,
      file_content_type: 'image/png',
      file_file_size: null,
      file_storage_schema_version: 1,
      remote_url: '',
    }));
    const added = newMedia.flatMap((row) => keysForRow('media_attachments', row));
    const addedKeys = new Set(added.map((k) => k.key));
    await putObjects(
      sourceClient,
      'fol-source',
      added.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    );
    const first = startFollower(['--interval', '1s', '--concurrency', '1', '--config', ini]);
    await first.waitFor((l) => l['pass'] === 1);
    proxy.reset();
    await seedDatabase(db, { media_attachments: newMedia });
    const putsOfAdded = () => plainPuts(proxy.requests).filter((r) => addedKeys.has(parsePath(r.path).key));
    const deadline = Date.now() + 30_000;
    while (putsOfAdded().length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await first.done;
    const completedBefore = new Set(
      putsOfAdded()
        .filter((r) => r.status === 200)
        .map((r) => parsePath(r.path).key),
    );
    assert.ok(completedBefore.size >= 4, `${completedBefore.size} copies completed before the kill`);
    assert.ok(completedBefore.size < added.length, 'killed mid-pass');
    proxy.reset();
    const second = await runCli(
      ['sync', '--follow', '--until', '4s', '--interval', '1s', '--json', '--no-progress', '--config', ini],
      { timeoutMs: 60_000 },
    );
    assert.equal(second.code, 0, describeRun(second));
    const again = putsOfAdded()
      .map((r) => parsePath(r.path).key)
      .filter((key) => completedBefore.has(key));
    assert.deepEqual(again, [], 'no completed object is written twice');
    await assertAtDestination(added);
  });

  it('the database connection terminated mid-follow: it reconnects and goes on', async () => {
    const follower = startFollower(['--interval', '1s', '--config', ini]);
    await follower.waitFor((l) => l['pass'] === 1);
    const killed = await db.client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mastodon-s3-sync' AND datname = current_database()",
    );
    assert.ok(killed.rowCount! >= 1, 'the follower had a session');
    const row = {
      id: snowflake(Date.now() + 500, 7),
      type: 0,
      file_file_name: 'afterterminate01.png',
      file_content_type: 'image/png',
      file_file_size: null,
      file_storage_schema_version: 1,
      remote_url: '',
    };
    const keys = keysForRow('media_attachments', row);
    await putObjects(
      sourceClient,
      'fol-source',
      keys.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    );
    await seedDatabase(db, { media_attachments: [row] });
    const seen = follower.lines.length;
    let copied = 0;
    await follower.waitFor((l) => {
      if (follower.lines.indexOf(l) < seen) return false;
      copied += Number(l['copied']);
      return copied >= keys.length;
    });
    follower.child.kill('SIGTERM');
    const result = await follower.done;
    assert.equal(result.code, 0, describeRun(result));
    await assertAtDestination(keys);
  });

  it('a live writer, faults on both stores: every referenced key arrives exact; lag reported', async () => {
    const faults: FaultProxy[] = await Promise.all([
      startFaultProxy({ target: world.source.endpoint, rates: FAULTS, seed: 5 }),
      startFaultProxy({ target: world.dest.endpoint, rates: FAULTS, seed: 6 }),
    ]);
    try {
      const faulty = tempIni(
        s3Section('source', { endpoint: faults[0]!.endpoint, ...SOURCE_KEYS }, 'fol-source') +
          s3Section('destination', { endpoint: faults[1]!.endpoint, ...DEST_KEYS }, 'fol-faults') +
          db.iniSection() +
          '[sync]\nretries = 10\n',
      );
      const follower = startFollower(['--interval', '2s', '--config', faulty]);
      await follower.waitFor((l) => l['pass'] === 1);
      // The writer, every 250 ms for 6 s, files stored first: two media rows (four objects),
      // and every fourth tick a local account (avatar), a custom emoji and a preview card.
      const written: CatalogKey[] = [];
      for (let tick = 0; tick < 24; tick++) {
        const rowsNow: FakeRows = {
          media_attachments: [0, 1].map((i) => ({
            id: snowflake(Date.now(), 1000 + tick * 2 + i),
            type: 0,
            file_file_name: `writer${tick}x${i}aaaabbbb.png`,
            file_content_type: 'image/png',
            file_file_size: null,
            file_storage_schema_version: 1,
            remote_url: '',
          })),
        };
        if (tick % 4 === 0) {
          // Paperclip stamps <attachment>_updated_at when it assigns a file (Mastodon's rows do).
          const stamped = new Date().toISOString();
          rowsNow.accounts = [
            {
              id: snowflake(Date.now(), 3000 + tick),
              username: `writer${tick}`,
              domain: null,
              avatar_file_name: `writeravatar${tick}.png`,
              avatar_content_type: 'image/png',
              avatar_file_size: null,
              avatar_storage_schema_version: 1,
              avatar_updated_at: stamped,
            },
          ];
          rowsNow.custom_emojis = [
            {
              id: String(50_000 + tick),
              shortcode: `writer${tick}`,
              domain: null,
              image_file_name: `writeremoji${tick}.png`,
              image_content_type: 'image/png',
              image_file_size: null,
              image_storage_schema_version: 1,
              image_updated_at: stamped,
            },
          ];
          rowsNow.preview_cards = [
            {
              id: String(50_000 + tick),
              url: `https://writer.example/${tick}`,
              image_file_name: `writercard${tick}.jpeg`,
              image_content_type: 'image/jpeg',
              image_file_size: null,
              image_storage_schema_version: 1,
              image_updated_at: stamped,
            },
          ];
        }
        const keysNow = (Object.entries(rowsNow) as Array<[TableName, FakeRow[]]>).flatMap(([table, list]) =>
          list.flatMap((row) => keysForRow(table, row)),
        );
        await putObjects(
          sourceClient,
          'fol-source',
          keysNow.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
        );
        await seedDatabase(db, rowsNow);
        written.push(...keysNow);
        await new Promise((r) => setTimeout(r, 250));
      }
      const tablesWritten = new Set(written.map((k) => k.table));
      assert.deepEqual(
        [...tablesWritten].sort(),
        ['accounts', 'custom_emojis', 'media_attachments', 'preview_cards'],
        'the writer wrote every kind of row',
      );
      const writerStopped = follower.lines.length;
      await follower.waitFor(
        (l) => follower.lines.indexOf(l) > writerStopped && l['lagSeconds'] === 0,
        90_000,
      );
      follower.child.kill('SIGTERM');
      const result = await follower.done;
      assert.equal(result.code, 0, describeRun(result));
      const lags = follower.lines
        .slice(1, -1)
        .map((l) => Number(l['lagSeconds']))
        .sort((a, b) => a - b);
      const at = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))];
      console.log(
        `follow under faults: ${lags.length} passes, lag p50 ${at(0.5)} s, p99 ${at(0.99)} s, max ${lags.at(-1)} s; faults injected ${faults[0]!.injected.length} + ${faults[1]!.injected.length}`,
      );
      assert.ok(faults[0]!.injected.length + faults[1]!.injected.length > 0, 'faults were injected');
      const summary = follower.lines.at(-1)!;
      assert.equal(summary['failed'], 0, JSON.stringify(summary));
      // Every key referenced now (the initial rows, the earlier tests' rows, the writer's).
      const referenced = (await runCli(['plan', '--config', faulty], { timeoutMs: 60_000 })).stdout
        .trim()
        .split('\n');
      const held = await listBucket(destClient, 'fol-faults');
      const missing = referenced.filter((key) => !held.has(key)); // every object was stored at the source
      assert.deepEqual(missing, []);
      for (const k of written) {
        const got = await fetchObject(destClient, 'fol-faults', k.key);
        assert.equal(got.md5, md5(bytesOf(k)), k.key);
        assert.equal(got.contentType, k.contentType, k.key);
      }
    } finally {
      await Promise.all(faults.map((f) => f.stop()));
    }
  });

  it('bad input exits 2 with a clear message, before touching anything', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--dry-run'], /cannot be combined with --dry-run/],
      [['--limit', '5'], /cannot be combined with --limit/],
      [['--local-only'], /cannot be combined with --local-only/],
      [['--interval', 'soon'], /--interval "soon"/],
      [['--until', '2001-01-01T00:00:00Z'], /--until .*already past/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['sync', '--follow', ...flags, '--config', ini], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${flags.join(' ')}: ${describeRun(r)}`);
      assert.match(r.stderr, message);
      assert.equal(hasStackTrace(r.stderr), false);
    }
    const intervalAlone = await runCli(['sync', '--interval', '5s', '--config', ini], { timeoutMs: 30_000 });
    assert.equal(intervalAlone.code, 2);
    // A state file that cannot be written (here: a directory in its place).
    const blocked = tempIni(readFileSync(ini, 'utf8'));
    mkdirSync(`${blocked}.state.json`);
    const r = await runCli(['sync', '--follow', '--config', blocked], { timeoutMs: 30_000 });
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /state file .* is not writable/);
  });
});

function readFileSafe(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Anonymous HEAD through the ACL-enforcing proxy: what the public would get. */
async function anonymousStatus(key: string): Promise<number> {
  const url = `${proxy.endpoint}/fol-dest/${key.split('/').map(encodeURIComponent).join('/')}`;
  return (await fetch(url, { method: 'HEAD' })).status;
}
