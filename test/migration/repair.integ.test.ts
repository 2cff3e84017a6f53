/**
 * `repair` against a destination as the original Python tool leaves it — every object
 * `application/octet-stream`, no Cache-Control, everything public-read — with real PostgreSQL
 * (Mastodon 4.6 plus the statuses table: a discarded status, a suspended account) and s3rver
 * behind a proxy that enforces and answers ACLs as S3 does (s3rver ignores them).
 * Checked on the wire: no GET of an object body, at most one write per fixed object, none for
 * the right ones; a second repair changes nothing; then verify passes. Bad input: a filesystem
 * destination (exit 2), a destination that refuses CopyObject (exit 1, nothing changed), an
 * interrupted repair resumed from its progress file.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type FakeRows, fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import { type S3Server, startS3Server } from '../../dev/s3.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  describeRun,
  fsSection,
  inParallel,
  parsePath,
  removeTempInis,
  s3Client,
  s3Section,
  seedDatabase,
  tempIni,
} from '../helpers/sync-env.ts';

const KEYS = { accessKeyId: 'REPAIR-DST-ACCESS-1', secretAccessKey: 'repair-dst-Secret-q1w2e3' };
const SECRETS = Object.values(KEYS);
const CACHE_CONTROL = 'public, max-age=315576000, immutable';
const BUCKET = 'repair-dest';

const rows: FakeRows = fakeInstance({ media: 60, seed: 23 });
const media = rows.media_attachments!;
const DISCARDED_STATUS = '110000000000000001';
const LIVE_STATUS = '110000000000000002';
const DISCARDED_MEDIA = media.slice(0, 4).map((m) => String(m['id']));
const LIVE_MEDIA = media.slice(4, 6).map((m) => String(m['id']));
const SUSPENDED_ACCOUNT = rows.accounts!.find((a) => Number(a['id']) > 100 && a['domain'] === null)!;
const SUSPENDED_MEDIA = media.slice(10, 13).map((m) => String(m['id']));
// An account suspended only after the bulk copy (the follow-up sync must privatize its media).
const LATER_ACCOUNT = rows.accounts!.filter((a) => Number(a['id']) > 100 && a['domain'] === null)[1]!;
const LATER_MEDIA = media.slice(30, 33).map((m) => String(m['id']));
const FOLLOW_BUCKET = 'follow-dest';

let db: TestDatabase;
let server: S3Server;
let proxy: RecordingProxy;
let client: S3Client;
let ini: string;
let keys: CatalogKey[];
let missing: CatalogKey[];

/** What Mastodon means each object's ACL to be. */
function expectedAcl(k: CatalogKey): string {
  if (k.table === 'backups') return 'private';
  if (k.table === 'media_attachments' && (DISCARDED_MEDIA.includes(k.id) || SUSPENDED_MEDIA.includes(k.id)))
    return 'private';
  return 'public-read';
}

const objectPath = (key: string) => `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;

async function cli(args: string[], config = ini) {
  const result = await runCli([...args, '--config', config], { timeoutMs: 120_000 });
  assertClean(result, SECRETS);
  return result;
}

function json(result: { stdout: string }): Record<string, unknown> & {
  checked: number;
  fixed: number;
  alreadyRight: number;
  failed: number;
  missing: number;
  fields: Record<string, number>;
} {
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

/** The original tool's result: octet-stream, no Cache-Control, public-read, for every key. */
async function prepareAsTheOriginalToolLeftIt(through: S3Client): Promise<void> {
  await inParallel(
    keys.filter((k) => !missing.includes(k)),
    12,
    (k) =>
      through.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: k.key,
          Body: Buffer.from(`body of ${k.key}`),
          ContentType: 'application/octet-stream',
          ACL: 'public-read',
        }),
      ),
  );
}

/** Rewrites an object as it should be but public-read (someone else's tool, a console click). */
async function makePublicBehindOurBack(k: CatalogKey): Promise<void> {
  const through = s3Client({ endpoint: proxy.endpoint, ...KEYS });
  await through.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: k.key,
      Body: Buffer.from(`body of ${k.key}`),
      ContentType: k.contentType,
      CacheControl: CACHE_CONTROL,
      ACL: 'public-read',
    }),
  );
  through.destroy();
}

const bodyGets = () =>
  proxy.requests.filter((r) => {
    const { key, query } = parsePath(r.path);
    return r.method === 'GET' && key !== '' && !/(^|&)acl(=|&|$)/.test(query);
  });
const writesByKey = () => {
  const counts = new Map<string, number>();
  for (const r of proxy.requests) {
    const { key } = parsePath(r.path);
    if (r.method === 'PUT' && key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
};

before(async () => {
  [db, server] = await Promise.all([
    createTestDatabase('4.6', 'msst_repair'),
    startS3Server({ buckets: [BUCKET, FOLLOW_BUCKET], ...KEYS }),
  ]);
  proxy = await startProxy({ target: server.endpoint, enforceAcl: true, answerAcl: true });
  await seedDatabase(db, rows);
  await db.client.query(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mastodon-statuses.sql'), 'utf8'),
  );
  await db.client.query(
    `INSERT INTO statuses (id, created_at, updated_at, account_id, deleted_at) VALUES
       ($1, now(), now(), 1, now()), ($2, now(), now(), 1, NULL)`,
    [DISCARDED_STATUS, LIVE_STATUS],
  );
  await db.client.query('UPDATE media_attachments SET status_id = $1 WHERE id = ANY($2::bigint[])', [
    DISCARDED_STATUS,
    DISCARDED_MEDIA,
  ]);
  await db.client.query('UPDATE media_attachments SET status_id = $1 WHERE id = ANY($2::bigint[])', [
    LIVE_STATUS,
    LIVE_MEDIA,
  ]);
  await db.client.query('UPDATE accounts SET suspended_at = now() WHERE id = $1', [SUSPENDED_ACCOUNT['id']]);
  await db.client.query('UPDATE media_attachments SET account_id = $1 WHERE id = ANY($2::bigint[])', [
    SUSPENDED_ACCOUNT['id'],
    SUSPENDED_MEDIA,
  ]);
  await db.client.query('UPDATE media_attachments SET account_id = $1 WHERE id = ANY($2::bigint[])', [
    LATER_ACCOUNT['id'],
    LATER_MEDIA,
  ]);
  keys = referencedKeys(rows);
  // Two referenced objects never reached the destination: reported, not invented.
  missing = keys.filter((k) => k.table === 'custom_emojis').slice(0, 2);
  client = s3Client({ endpoint: server.endpoint, ...KEYS });
  const throughProxy = s3Client({ endpoint: proxy.endpoint, ...KEYS });
  await prepareAsTheOriginalToolLeftIt(throughProxy);
  throughProxy.destroy();
  ini = tempIni(
    s3Section('source', { endpoint: server.endpoint, ...KEYS }, BUCKET) +
      s3Section('destination', { endpoint: proxy.endpoint, ...KEYS }, BUCKET, {
        cache_control: CACHE_CONTROL,
      }) +
      db.iniSection(),
  );
});

after(async () => {
  removeTempInis();
  client?.destroy();
  await proxy?.stop();
  await Promise.all([db?.drop(), server?.stop()]);
});

describe('repair', () => {
  it('--dry-run reports what is wrong and writes nothing', async () => {
    proxy.reset();
    const result = await cli(['repair', '--dry-run', '--json']);
    assert.equal(result.code, 0, describeRun(result));
    const summary = json(result);
    const present = keys.length - missing.length;
    assert.equal(summary.checked, present);
    assert.equal(summary.fixed, present, 'every present object is wrong (octet-stream, no Cache-Control)');
    assert.equal(summary.missing, missing.length);
    assert.equal(summary.dryRun, true);
    assert.equal(writesByKey().size, 0, 'no write in a dry run');
  });

  it('fixes every object in place: no body downloaded, at most one write per object', async () => {
    proxy.reset();
    const report = join(tempIni(''), '..', 'repair.ndjson');
    const result = await cli(['repair', '--json', '--report', report]);
    assert.equal(result.code, 0, describeRun(result));
    const summary = json(result);
    const present = keys.length - missing.length;
    assert.equal(summary.fixed, present);
    assert.equal(summary.failed, 0);
    assert.equal(summary.alreadyRight, 0);
    assert.equal(summary.missing, missing.length);
    assert.equal(summary.fields['contentType'], keys.filter((k) => !missing.includes(k)).length);
    assert.equal(summary.fields['cacheControl'], present);
    const privateCount = keys.filter((k) => !missing.includes(k) && expectedAcl(k) === 'private').length;
    assert.ok(privateCount >= 8, `${privateCount} private objects`);
    assert.equal(summary.fields['acl'], privateCount, 'only the private ones had a wrong ACL');

    assert.equal(bodyGets().length, 0, 'zero GET requests of object bodies');
    const writes = writesByKey();
    assert.equal(writes.size, present);
    assert.ok(
      [...writes.values()].every((n) => n === 1),
      'one write per fixed object',
    );

    for (const k of keys) {
      if (missing.includes(k)) continue;
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: k.key }));
      assert.equal(head.ContentType, k.contentType, k.key);
      assert.equal(head.CacheControl, CACHE_CONTROL, k.key);
      assert.equal(proxy.aclOf(objectPath(k.key)), expectedAcl(k), k.key);
      assert.equal(head.ContentLength, Buffer.byteLength(`body of ${k.key}`), 'the body stayed');
    }
    const lines = readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, keys.length, 'one line per object not already right');
    const discarded = lines.find((l) => l.table === 'media_attachments' && DISCARDED_MEDIA.includes(l.id));
    assert.deepEqual(discarded.wrong.acl, { was: 'public-read', want: 'private' });
    assert.equal(discarded.done, 'replace-metadata');
    assert.equal(lines.filter((l) => l.status === 'missing').length, missing.length);
    assert.ok(!existsSync(`${ini}.repair.json`), 'a completed repair leaves no progress file');
  });

  it('a second repair changes nothing, and verify passes but for the missing objects', async () => {
    proxy.reset();
    const result = await cli(['repair', '--json']);
    assert.equal(result.code, 0, describeRun(result));
    const summary = json(result);
    assert.equal(summary.fixed, 0);
    assert.equal(summary.alreadyRight, keys.length - missing.length);
    assert.equal(writesByKey().size, 0, 'no write for objects already right');

    // The source config points at the same bucket: the two objects missing there are
    // "not at source"; every other object is in place with its type and ACL.
    const verify = await cli(['verify', '--acl', '--json']);
    assert.equal(verify.code, 0, describeRun(verify));
    const verified = JSON.parse(verify.stdout);
    assert.equal(verified.problems, 0);
    assert.equal(verified.acl, 0);
    assert.equal(verified.requests.acl, keys.length - missing.length, 'ACLs were checked');
    assert.equal(verified.missingAtSource, missing.length);
  });

  it('an ACL changed behind our back is put right with one PutObjectAcl', async () => {
    const victim = keys.find((k) => expectedAcl(k) === 'private' && k.table === 'media_attachments')!;
    await makePublicBehindOurBack(victim);
    proxy.reset();
    const summary = json(await cli(['repair', 'media_attachments', '--json']));
    assert.equal(summary.fixed, 1);
    assert.deepEqual(summary.fields, { contentType: 0, cacheControl: 0, acl: 1 });
    const puts = proxy.requests.filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1);
    assert.match(puts[0]!.path, /[?&]acl/);
    assert.equal(proxy.aclOf(objectPath(victim.key)), 'private');
  });

  it('verify reports a wrong ACL as its own problem kind', async () => {
    const victim = keys.find((k) => expectedAcl(k) === 'private' && k.table === 'backups')!;
    await makePublicBehindOurBack(victim);
    const verify = await cli(['verify', 'backups', '--acl', '--json']);
    assert.equal(verify.code, 1, describeRun(verify));
    const verified = JSON.parse(verify.stdout);
    assert.equal(verified.acl, 1);
    assert.equal(verified.problems, 1);
    const fixed = json(await cli(['repair', 'backups', '--json']));
    assert.deepEqual(fixed.fields, { contentType: 0, cacheControl: 0, acl: 1 });
    assert.equal((await cli(['verify', 'backups', '--acl', '--json'])).code, 0);
  });

  it('an interrupted repair resumes after the last batch it finished', async () => {
    const ids = media.map((m) => BigInt(String(m['id']))).sort((a, b) => (a < b ? -1 : 1));
    const after = ids[Math.floor(ids.length / 2)]!.toString();
    writeFileSync(`${ini}.repair.json`, `${JSON.stringify({ after: { media_attachments: after } })}\n`);
    const result = await cli(['repair', 'media_attachments', '--json']);
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stderr, /resuming an interrupted repair .*media_attachments after id/);
    const expected = keys.filter((k) => k.table === 'media_attachments' && BigInt(k.id) > BigInt(after));
    assert.equal(json(result).checked, expected.length);
    assert.ok(!existsSync(`${ini}.repair.json`));
    const restarted = await cli(['repair', 'media_attachments', '--json', '--restart']);
    assert.equal(json(restarted).checked, keys.filter((k) => k.table === 'media_attachments').length);
  });

  it('a destination that refuses CopyObject: a clear error, exit 1, nothing changed', async () => {
    const refusing = await startProxy({ target: server.endpoint, refuseCopy: true });
    try {
      const key = keys.find((k) => k.table === 'accounts')!;
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key.key,
          Body: Buffer.from('x'),
          ContentType: 'application/octet-stream',
        }),
      );
      const config = tempIni(
        s3Section('source', { endpoint: server.endpoint, ...KEYS }, BUCKET) +
          s3Section('destination', { endpoint: refusing.endpoint, ...KEYS }, BUCKET, {
            cache_control: CACHE_CONTROL,
            acl: '',
          }) +
          db.iniSection(),
      );
      const result = await cli(['repair', 'accounts'], config);
      assert.equal(result.code, 1, describeRun(result));
      assert.match(result.stderr, /refused to change .*AccessDenied.*nothing more was changed/s);
      const copies = refusing.requests.filter((r) => r.headers['x-amz-copy-source'] !== undefined);
      assert.ok(copies.length >= 1 && copies.length <= 16, `${copies.length} copies tried`);
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key.key }));
      assert.equal(head.ContentType, 'application/octet-stream', 'unchanged');
    } finally {
      await refusing.stop();
    }
  });

  it('a filesystem destination has no metadata: exit 2, named', async () => {
    const config = tempIni(
      s3Section('source', { endpoint: server.endpoint, ...KEYS }, BUCKET) +
        fsSection('destination', '/tmp/msst-no-such-dir') +
        db.iniSection(),
    );
    const result = await cli(['repair'], config);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(
      result.stderr,
      /\[s3\.destination\] is a filesystem destination: .*no Content-Type, Cache-Control or ACL/,
    );
  });
});

describe('ACL changes reach the destination on later syncs', () => {
  let config: string;
  const aclOf = (k: CatalogKey) =>
    proxy.aclOf(`/${FOLLOW_BUCKET}/${k.key.split('/').map(encodeURIComponent).join('/')}`);
  const mediaKeys = (ids: readonly string[]) =>
    keys.filter((k) => k.table === 'media_attachments' && ids.includes(k.id));
  const aclPuts = () => proxy.requests.filter((r) => r.method === 'PUT' && /[?&]acl/.test(r.path));

  before(() => {
    config = tempIni(
      s3Section('source', { endpoint: server.endpoint, ...KEYS }, BUCKET) +
        s3Section('destination', { endpoint: proxy.endpoint, ...KEYS }, FOLLOW_BUCKET, {
          cache_control: CACHE_CONTROL,
        }) +
        db.iniSection(),
    );
  });

  it('bulk sync: suspended and discarded media private; the state file records who is private', async () => {
    const result = await cli(['sync', '--json', '--no-progress'], config);
    assert.ok(result.code === 0 || result.code === 1, describeRun(result)); // 2 keys are missing at the source
    for (const k of mediaKeys([...SUSPENDED_MEDIA, ...DISCARDED_MEDIA]))
      assert.equal(aclOf(k), 'private', k.key);
    for (const k of mediaKeys(LATER_MEDIA)) assert.equal(aclOf(k), 'public-read', k.key);
    const state = JSON.parse(readFileSync(`${config}.state.json`, 'utf8'));
    assert.deepEqual(state.privateOwners.suspendedAccounts, [String(SUSPENDED_ACCOUNT['id'])]);
    assert.deepEqual(state.privateOwners.discardedStatuses, [DISCARDED_STATUS]);
  });

  it('suspend one account and unsuspend another: the next sync --since last re-applies exactly their ACLs', async () => {
    await db.client.query('UPDATE accounts SET suspended_at = now() WHERE id = $1', [LATER_ACCOUNT['id']]);
    await db.client.query('UPDATE accounts SET suspended_at = NULL WHERE id = $1', [SUSPENDED_ACCOUNT['id']]);
    proxy.reset();
    const result = await cli(['sync', '--since', 'last', '--json', '--no-progress'], config);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!);
    const changed = mediaKeys([...LATER_MEDIA, ...SUSPENDED_MEDIA]);
    assert.equal(summary.aclReapplied, changed.length, describeRun(result));
    assert.equal(aclPuts().length, changed.length, 'one PutObjectAcl per object of a changed account');
    for (const k of mediaKeys(LATER_MEDIA)) assert.equal(aclOf(k), 'private', k.key);
    for (const k of mediaKeys(SUSPENDED_MEDIA)) assert.equal(aclOf(k), 'public-read', k.key);
    for (const k of mediaKeys(DISCARDED_MEDIA)) assert.equal(aclOf(k), 'private', k.key);
  });

  it('nothing changed: no ACL request at all', async () => {
    proxy.reset();
    const result = await cli(['sync', '--since', 'last', '--json', '--no-progress'], config);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!);
    assert.equal(summary.aclReapplied, 0, describeRun(result));
    assert.equal(aclPuts().length, 0);
  });
});
