/**
 * A migration end to end, with real PostgreSQL and s3rver, the CLI spawned as an admin runs it:
 * bulk sync → rows and objects added, an avatar replaced → `sync --since last` copies exactly
 * those → `verify` passes, and fails (exit 1, reported) once a destination object is deleted,
 * truncated or stored as application/octet-stream. Media of a suspended account and backups
 * end private, everything else public-read, checked by anonymous requests through a proxy that
 * enforces ACLs as S3 does (s3rver ignores them); `--public-url` goes through that proxy too.
 * Orphans are listed, "directory" keys ending in `/` included. Scopes order and filter keys.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type FakeRows, fakeInstance, referencedKeys, snowflake } from '../../dev/fake-instance.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  describeRun,
  parsePath,
  parseSummary,
  plainPuts,
  putObjects,
  readReport,
  removeTempInis,
  s3Section,
  seedDatabase,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'MIG-SRC-ACCESS-1', secretAccessKey: 'mig-src-Secret-a9s8d7' };
const DEST_KEYS = { accessKeyId: 'MIG-DST-ACCESS-2', secretAccessKey: 'mig-dst-Secret-f6g5h4' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];

const rows: FakeRows = fakeInstance({ media: 120, seed: 11 });
// Six media rows belong to an account that gets suspended: their files must end private.
const SUSPENDED_ACCOUNT = rows.accounts!.find((a) => Number(a['id']) > 100 && a['domain'] === null)!;
const SUSPENDED_MEDIA = rows.media_attachments!.slice(20, 26).map((m) => String(m['id']));

let world: World;
let db: TestDatabase;
let source: S3Server;
let sourceClient: S3Client;
let destClient: S3Client;
let acl: RecordingProxy;
let ini: string;
let initialKeys: CatalogKey[];

function bytesOf(key: CatalogKey): Buffer {
  return uniqueBytes(key);
}

async function cli(args: string[]) {
  const result = await runCli([...args, '--config', ini], { timeoutMs: 120_000 });
  assertClean(result, SECRETS);
  return result;
}

/** Anonymous HEAD through the ACL-enforcing proxy: what the public would get. */
async function anonymousStatus(key: string): Promise<number> {
  const url = `${acl.endpoint}/mig-dest/${key.split('/').map(encodeURIComponent).join('/')}`;
  return (await fetch(url, { method: 'HEAD' })).status;
}

before(async () => {
  initialKeys = referencedKeys(rows);
  world = await startWorld({
    dbPrefix: 'msst_migration',
    source: { bucket: 'mig-source', keys: SOURCE_KEYS },
    dest: { buckets: ['mig-dest'], keys: DEST_KEYS },
    rows,
    objects: initialKeys.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    destProxy: { enforceAcl: true },
  });
  ({ db, source, sourceClient, destClient } = world);
  acl = world.destProxy!;
  await db.client.query('UPDATE accounts SET suspended_at = now() WHERE id = $1', [SUSPENDED_ACCOUNT['id']]);
  await db.client.query('UPDATE media_attachments SET account_id = $1 WHERE id = ANY($2::bigint[])', [
    SUSPENDED_ACCOUNT['id'],
    SUSPENDED_MEDIA,
  ]);
  ini = tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, 'mig-source') +
      s3Section('destination', { endpoint: acl.endpoint, ...DEST_KEYS }, 'mig-dest') +
      db.iniSection(),
  );
});

after(async () => {
  removeTempInis();
  await world?.stop();
});

describe('migration workflow', () => {
  it('scopes: --local-only and --remote-only split the keys; by default local keys go first', async () => {
    const local = parseSummary(await cli(['sync', '--local-only', '--dry-run', '--json', '--no-progress']));
    const remote = parseSummary(await cli(['sync', '--remote-only', '--dry-run', '--json', '--no-progress']));
    assert.equal(local.copied, initialKeys.filter((k) => !k.remote).length);
    assert.equal(remote.copied, initialKeys.filter((k) => k.remote).length);
    const skipCache = parseSummary(
      await cli(['sync', '--skip-remote-cache', '--dry-run', '--json', '--no-progress']),
    );
    const disposable = initialKeys.filter(
      (k) => k.remote && (k.table === 'media_attachments' || k.table === 'preview_cards'),
    );
    assert.equal(skipCache.copied, initialKeys.length - disposable.length);
    const both = await runCli(['sync', '--local-only', '--remote-only', '--config', ini]);
    assert.equal(both.code, 2, describeRun(both));
  });

  it('bulk sync: local keys written before remote ones; suspended media and backups private', async () => {
    acl.reset();
    const result = await cli(['sync', '--json', '--no-progress', '--concurrency', '1']);
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(parseSummary(result).copied, initialKeys.length);
    assert.ok(existsSync(`${ini}.state.json`), 'the completed run is recorded next to the config');

    const byKey = new Map(initialKeys.map((k) => [k.key, k]));
    const order = plainPuts(acl.requests).map((r) => byKey.get(parsePath(r.path).key)!);
    // Every local upload is written before the first remote-cache (cache/) object.
    const firstCached = order.findIndex((k) => k.key.startsWith('cache/'));
    assert.ok(firstCached > 0);
    assert.ok(
      order.slice(firstCached).every((k) => k.remote),
      'no local key after the first cache/ one',
    );

    const suspendedKeys = initialKeys.filter(
      (k) => k.table === 'media_attachments' && SUSPENDED_MEDIA.includes(k.id),
    );
    assert.ok(suspendedKeys.length >= 6);
    for (const k of suspendedKeys)
      assert.equal(await anonymousStatus(k.key), 403, `${k.key} must be private`);
    for (const k of initialKeys.filter((x) => x.table === 'backups'))
      assert.equal(await anonymousStatus(k.key), 403);
    const others = initialKeys.filter((k) => k.table !== 'backups' && !suspendedKeys.includes(k));
    for (const k of others.slice(0, 40)) assert.equal(await anonymousStatus(k.key), 200, `${k.key} public`);
  });

  let added: CatalogKey[] = [];
  /** The replaced avatar's keys: no longer referenced (orphans from then on). */
  let replaced: CatalogKey[] = [];

  it('sync --since last copies exactly what changed after the bulk run', async () => {
    const state = JSON.parse(readFileSync(`${ini}.state.json`, 'utf8')) as {
      lastCompleted: Record<string, string>;
    };
    assert.ok(state.lastCompleted['media_attachments']);
    // New media (snowflake ids of now) and an avatar replaced on an old account.
    const now = Date.now();
    const newMedia = [0, 1, 2].map((i) => ({
      id: snowflake(now + i, i),
      type: 0,
      file_file_name: `new${i}aaaabbbbcccc.png`,
      file_content_type: 'image/png',
      file_file_size: null,
      file_storage_schema_version: 1,
      remote_url: '',
    }));
    await seedDatabase(db, { media_attachments: newMedia });
    const account = rows.accounts!.find(
      (a) => a['avatar_file_name'] && a['domain'] === null && a !== SUSPENDED_ACCOUNT,
    )!;
    await db.client.query(
      "UPDATE accounts SET avatar_file_name = 'replacedavatar01.png', avatar_content_type = 'image/png', avatar_updated_at = now() WHERE id = $1",
      [account['id']],
    );
    const newAvatar = keysForRow('accounts', {
      ...account,
      avatar_file_name: 'replacedavatar01.png',
      avatar_content_type: 'image/png',
    }).filter((k) => k.attachment === 'avatar');
    replaced = keysForRow('accounts', account).filter((k) => k.attachment === 'avatar');
    added = [...newMedia.flatMap((row) => keysForRow('media_attachments', row)), ...newAvatar];
    await putObjects(
      sourceClient,
      'mig-source',
      added.map((k) => ({ key: k.key, body: bytesOf(k), contentType: k.contentType })),
    );

    acl.reset();
    const result = await cli(['sync', '--since', 'last', '--json', '--no-progress']);
    assert.equal(result.code, 0, describeRun(result));
    const summary = parseSummary(result);
    assert.equal(summary.copied, added.length, describeRun(result));
    assert.deepEqual(
      plainPuts(acl.requests)
        .map((r) => parsePath(r.path).key)
        .sort(),
      added.map((k) => k.key).sort(),
    );
    // No bucket listing beyond the changed rows' own prefixes: far fewer requests than keys.
    assert.ok(acl.requests.length < initialKeys.length / 10, `${acl.requests.length} requests`);
  });

  it('--since with a bad value or no recorded run: exit 2', async () => {
    const bad = await runCli(['sync', '--since', 'yesterday', '--config', ini]);
    assert.equal(bad.code, 2, describeRun(bad));
    assert.match(bad.stderr, /--since "yesterday": expected an ISO time/);
    const fresh = tempIni(readFileSync(ini, 'utf8'));
    const never = await runCli(['sync', '--since', 'last', '--config', fresh]);
    assert.equal(never.code, 2, describeRun(never));
    assert.match(never.stderr, /no completed sync of .* recorded/);
  });

  it('verify passes, with the public URL: public objects 200, private ones refused', async () => {
    const result = await cli(['verify', '--json', '--public-url', `${acl.endpoint}/mig-dest`]);
    assert.equal(result.code, 0, describeRun(result));
    const summary = JSON.parse(result.stdout) as {
      keys: number;
      problems: number;
      inspected: number;
      requests: { public: number };
    };
    assert.equal(summary.problems, 0);
    assert.equal(summary.keys, initialKeys.length + added.length - replaced.length);
    assert.equal(summary.inspected, summary.keys);
    assert.ok(summary.requests.public > 0);

    const sampled = await cli([
      'verify',
      '--json',
      '--sample',
      '5',
      '--public-url',
      `${acl.endpoint}/mig-dest`,
    ]);
    assert.equal(sampled.code, 0, describeRun(sampled));
    const s = JSON.parse(sampled.stdout) as {
      keys: number;
      inspected: number;
      requests: { public: number; head: number };
    };
    assert.equal(s.keys, summary.keys, 'presence and size still checked for every key');
    assert.equal(s.inspected, 5, 'per-object checks on the sample only');
    // One anonymous request per sampled key; a private one also gets an authenticated HEAD
    // (its type cannot be read anonymously).
    assert.ok(s.requests.public === 5 && s.requests.head <= 5, JSON.stringify(s.requests));
  });

  it('verify fails on a deleted, a truncated and a mistyped object, and reports each', async () => {
    const media = initialKeys.filter(
      (k) => k.table === 'media_attachments' && k.style === 'original' && !k.remote,
    );
    const [gone, short, mistyped] = [media[3]!, media[4]!, media[5]!];
    await destClient.send(new DeleteObjectCommand({ Bucket: 'mig-dest', Key: gone.key }));
    await destClient.send(
      new PutObjectCommand({
        Bucket: 'mig-dest',
        Key: short.key,
        Body: bytesOf(short).subarray(0, 10),
        ContentType: short.contentType,
      }),
    );
    await destClient.send(
      new PutObjectCommand({
        Bucket: 'mig-dest',
        Key: mistyped.key,
        Body: bytesOf(mistyped),
        ContentType: 'application/octet-stream',
      }),
    );
    const report = join(db.name.length > 0 ? '/tmp' : '/tmp', `verify-${db.name}.ndjson`);
    const result = await cli(['verify', 'media_attachments', '--json', '--report', report]);
    assert.equal(result.code, 1, describeRun(result));
    const summary = JSON.parse(result.stdout) as {
      absent: number;
      size: number;
      contentType: number;
      problems: number;
    };
    assert.deepEqual(
      {
        absent: summary.absent,
        size: summary.size,
        contentType: summary.contentType,
        problems: summary.problems,
      },
      { absent: 1, size: 1, contentType: 1, problems: 3 },
    );
    const lines = readReport(report);
    assert.deepEqual(
      lines.map((l) => [l.status as string, l.key]).sort(),
      [
        ['absent', gone.key],
        ['size', short.key],
        ['content-type', mistyped.key],
      ].sort(),
    );
    // A sync repairs all three; verify is happy again.
    const repaired = await cli(['sync', 'media_attachments', '--json', '--no-progress']);
    assert.equal(parseSummary(repaired).copied, 2, describeRun(repaired)); // absent + short (type needs --force)
  });

  it('orphans: unreferenced objects listed, "directory" keys counted, nothing deleted', async () => {
    const strays = [
      'media_attachments/files/999/999/999/original/stray.png',
      'cache/accounts/avatars/000/000/001/original/old-avatar.png',
    ];
    const directories = ['media_attachments/', 'cache/accounts/avatars/'];
    for (const key of [...strays, ...directories]) {
      await sourceClient.send(
        new PutObjectCommand({ Bucket: 'mig-source', Key: key, Body: key.endsWith('/') ? '' : 'x' }),
      );
    }
    const keys = await cli(['orphans', '--format', 'keys']);
    assert.equal(keys.code, 0, describeRun(keys));
    // The replaced avatar's old files are orphans too: no row references them any more.
    const expected = [...strays, ...replaced.map((k) => k.key)];
    assert.deepEqual(keys.stdout.trim().split('\n').sort(), expected.sort());
    const summary = await cli(['orphans', '--json']);
    assert.equal(summary.code, 0, describeRun(summary));
    const parsed = JSON.parse(summary.stdout) as {
      orphans: number;
      directoryMarkers: number;
      orphanBytes: number;
    };
    assert.deepEqual(
      { orphans: parsed.orphans, directoryMarkers: parsed.directoryMarkers, orphanBytes: parsed.orphanBytes },
      {
        orphans: expected.length,
        directoryMarkers: 2,
        orphanBytes: 2 + replaced.reduce((n, k) => n + bytesOf(k).length, 0),
      },
    );
  });

  it('plan --format summary shows the pre-flight estimate; runbook prints the steps', async () => {
    const plan = await cli(['plan', '--format', 'summary']);
    assert.equal(plan.code, 0, describeRun(plan));
    assert.match(plan.stdout, /pre-flight: a first sync into an empty destination/);
    assert.match(plan.stdout, /table\s+scope\s+objects\s+known bytes\s+GET\s+PUT\s+LIST/);
    // The estimate's total row: one GET and one PUT per object (all small), LIST pages as sync makes them.
    const total = plan.stdout
      .split('pre-flight')[1]!
      .split('\n')
      .find((l) => l.startsWith('total'))!;
    // total | objects | known bytes | GET | PUT | LIST (the empty scope cell vanishes in the split)
    const [, objects, , get, put, list] = total
      .trim()
      .split(/\s{2,}/)
      .map((c) => c.replace(/,/g, ''));
    const referenced = initialKeys.length + added.length - replaced.length;
    assert.deepEqual(
      [Number(objects), Number(get), Number(put)],
      [referenced, referenced, referenced],
      total,
    );
    assert.ok(Number(list) > 0 && Number(list) < referenced / 2, total);
    const runbook = await cli(['runbook', '--alias-host', 'files.example.com']);
    assert.equal(runbook.code, 0, describeRun(runbook));
    assert.match(runbook.stdout, /S3_ALIAS_HOST=files\.example\.com/);
    assert.match(runbook.stdout, /sync --since last/);
    assert.match(runbook.stdout, /Content-Security-Policy/);
  });
});
