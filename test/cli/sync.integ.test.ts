/**
 * `sync` end to end, S3 → S3: the real CLI (spawned) against a real PostgreSQL database holding
 * a fake Mastodon 4.6 instance, two real S3 servers (s3rver, in child processes) with different
 * credentials, and a recording proxy in front of the destination to see exactly which requests
 * the tool makes (s3rver ignores ACLs, so they are asserted on the recorded requests). Objects
 * are seeded and verified with the raw AWS SDK, never with the project's store code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { type FakeRow, fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  assertCounts,
  type Credentials,
  describeRun,
  fetchAll,
  fetchObject,
  listBucket,
  MASTODON_CACHE_CONTROL,
  md5,
  objectRequests,
  parsePath,
  plainPuts,
  readReport,
  removeTempInis,
  type SeedObject,
  s3Client,
  s3Section,
  seedDatabase,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { type SigV4Gate, startSigV4Gate } from '../helpers/sync-sigv4.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'SRC-ACCESS-Q7W2', secretAccessKey: 'src-Secret-9f8e7d6c5b' };
const DEST_KEYS = { accessKeyId: 'DST-ACCESS-K4J1', secretAccessKey: 'dst-Secret-1a2b3c4d5e' };
const WRONG_SECRET = 'wrong-Secret-77aa88bb99';
const WRONG_ACCESS_KEY = 'WRONG-ACCESS-Z9X8';
const SECRETS = [
  SOURCE_KEYS.accessKeyId,
  SOURCE_KEYS.secretAccessKey,
  DEST_KEYS.accessKeyId,
  DEST_KEYS.secretAccessKey,
  WRONG_SECRET,
  WRONG_ACCESS_KEY,
];

const SOURCE_BUCKET = 'mastodon-old';
/** On the source server (same account): the server-side copy target. */
const SAME_ACCOUNT_BUCKET = 'mastodon-same';
const DEST_BUCKETS = {
  main: 'dst-main',
  noAcl: 'dst-noacl',
  cacheControl: 'dst-cc',
  dryRun: 'dst-dry',
  jobs: 'dst-jobs',
  sinceId: 'dst-since',
  offset: 'dst-offset',
  big: 'dst-big',
  errors: 'dst-errors',
} as const;

const GENERIC_TYPE = 'application/octet-stream';
/** A non-generic type the source holds that differs from the catalog's: the source's wins. */
const SOURCE_SPECIFIC_TYPE = 'image/x-source-specific';
const BIG_SIZE = 41 * 1024 * 1024;
const QUIET = ['--no-progress', '--log-level', 'warn'];

const rows = fakeInstance({ media: 60, seed: 11 });
const media = rows.media_attachments!;
const keys = referencedKeys(rows);
const byKey = new Map(keys.map((k) => [k.key, k]));

function lastKeyOf(table: string): CatalogKey {
  return keys.filter((k) => k.table === table).at(-1)!;
}
/** Left out of the source, as on real instances (not among the first 10 media rows). */
const ABSENT = new Set([
  lastKeyOf('media_attachments').key,
  lastKeyOf('accounts').key,
  lastKeyOf('preview_cards').key,
]);
const present = keys.filter((k) => !ABSENT.has(k.key));
const PRESENT_BYTES = new Map(present.map((k) => [k.key, uniqueBytes(k)]));

/** Seeded as application/octet-stream (the catalog's type must be written) or as a specific type. */
const GENERIC_AT_SOURCE = new Set(
  [
    present.find((k) => k.table === 'media_attachments' && k.contentType === 'image/jpeg')!,
    present.find((k) => k.table === 'custom_emojis')!,
    present.find((k) => k.table === 'site_uploads')!,
    present.find((k) => k.table === 'backups')!,
  ].map((k) => k.key),
);
const SPECIFIC_AT_SOURCE = new Set(
  present
    .filter((k) => k.table === 'media_attachments' && !GENERIC_AT_SOURCE.has(k.key))
    .slice(0, 2)
    .map((k) => k.key),
);

function sourceType(k: CatalogKey): string {
  if (GENERIC_AT_SOURCE.has(k.key)) return GENERIC_TYPE;
  if (SPECIFIC_AT_SOURCE.has(k.key)) return SOURCE_SPECIFIC_TYPE;
  return k.contentType;
}
function expectedType(k: CatalogKey): string {
  return SPECIFIC_AT_SOURCE.has(k.key) ? SOURCE_SPECIFIC_TYPE : k.contentType;
}

const byId = (a: FakeRow, b: FakeRow) => {
  const x = BigInt(String(a['id']));
  const y = BigInt(String(b['id']));
  return x < y ? -1 : x > y ? 1 : 0;
};
function keysOfRows(table: 'media_attachments' | 'accounts', list: FakeRow[]): string[] {
  return list.flatMap((row) => keysForRow(table, row).map((k) => k.key));
}
/** The 41 MB video of the multipart test, in its own database. */
const BIG_ROW: FakeRow = {
  id: '999000111',
  type: 2,
  file_file_name: 'bigbigbigbigbig0.mp4',
  file_content_type: 'video/mp4',
  file_file_size: BIG_SIZE,
  file_storage_schema_version: 1,
  remote_url: '',
  thumbnail_file_name: null,
  thumbnail_content_type: null,
  thumbnail_file_size: null,
  thumbnail_storage_schema_version: null,
};
const bigKeys = keysForRow('media_attachments', BIG_ROW);

let world: World;
let db: TestDatabase;
let bigDb: TestDatabase;
let source: S3Server;
let dest: S3Server;
let sourceClient: S3Client;
let destClient: S3Client;
let workDir: string;
let bigBody: Buffer;
const proxies: RecordingProxy[] = [];
const gates: SigV4Gate[] = [];

const sourceCreds = (): Credentials => ({ endpoint: source.endpoint, ...SOURCE_KEYS });
const destCreds = (endpoint = dest.endpoint): Credentials => ({ endpoint, ...DEST_KEYS });

async function proxyTo(target: string): Promise<RecordingProxy> {
  const proxy = await startProxy({ target });
  proxies.push(proxy);
  return proxy;
}

async function gateTo(target: string): Promise<SigV4Gate> {
  const gate = await startSigV4Gate({
    target,
    credentials: new Map([[DEST_KEYS.accessKeyId, DEST_KEYS.secretAccessKey]]),
  });
  gates.push(gate);
  return gate;
}

function expectedAcl(key: string): string {
  return byKey.get(key)!.table === 'backups' ? 'private' : 'public-read';
}

/** Runs the CLI; every run is checked for leaked secrets and stack traces. */
async function cli(args: string[]): Promise<CliResult> {
  const quiet = args[0] === 'plan' ? ['--log-level', 'warn'] : QUIET;
  const result = await runCli([...args, ...quiet], { timeoutMs: 90_000 });
  assertClean(result, SECRETS);
  return result;
}

function config(destEndpoint: string, destBucket: string, extra = '', database = db): string {
  return tempIni(
    s3Section('source', sourceCreds(), SOURCE_BUCKET) +
      s3Section('destination', destCreds(destEndpoint), destBucket) +
      database.iniSection() +
      extra,
  );
}

function assertIntegerCounts(summary: Record<string, unknown>) {
  for (const field of ['copied', 'skipped', 'missing', 'failed', 'bytes']) {
    assert.ok(Number.isInteger(summary[field]), `${field} is an integer: ${JSON.stringify(summary)}`);
  }
}

/** Every key in `expected` is at the destination with its bytes, type and Cache-Control. */
async function assertCopied(bucket: string, expected: readonly CatalogKey[], cacheControl: string) {
  const listed = await listBucket(destClient, bucket);
  assert.deepEqual([...listed.keys()].sort(), expected.map((k) => k.key).sort(), 'destination keys');
  const fetched = await fetchAll(
    destClient,
    bucket,
    expected.map((k) => k.key),
  );
  for (const k of expected) {
    const got = fetched.get(k.key)!;
    assert.equal(got.md5, md5(PRESENT_BYTES.get(k.key)!), `MD5 of ${k.key}`);
    assert.equal(got.contentType, expectedType(k), `Content-Type of ${k.key}`);
    assert.equal(got.cacheControl, cacheControl, `Cache-Control of ${k.key}`);
  }
}

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'msst-sync-'));
  bigBody = randomBytes(BIG_SIZE);
  const objects: SeedObject[] = present.map((k) => ({
    key: k.key,
    body: PRESENT_BYTES.get(k.key)!,
    contentType: sourceType(k),
  }));
  const [bigOriginal, bigSmall] = bigKeys;
  objects.push({ key: bigOriginal!.key, body: bigBody, contentType: 'video/mp4' });
  PRESENT_BYTES.set(bigSmall!.key, uniqueBytes(bigSmall!));
  objects.push({ key: bigSmall!.key, body: PRESENT_BYTES.get(bigSmall!.key)!, contentType: 'image/png' });
  // The multipart test's own database, beside the world's.
  const bigDbReady = createTestDatabase('4.6', 'msst_sync_big').then(async (d) => {
    bigDb = d;
    await seedDatabase(d, { media_attachments: [BIG_ROW] });
  });
  const worldReady = startWorld({
    dbPrefix: 'msst_sync',
    source: { bucket: SOURCE_BUCKET, keys: SOURCE_KEYS, extraBuckets: [SAME_ACCOUNT_BUCKET] },
    dest: { buckets: Object.values(DEST_BUCKETS), keys: DEST_KEYS },
    rows,
    objects,
  }).then((w) => {
    world = w;
  });
  // Both settle before a failure is thrown, so that after() stops whatever did start.
  for (const step of await Promise.allSettled([worldReady, bigDbReady]))
    if (step.status === 'rejected') throw step.reason;
  ({ db, source, dest, sourceClient, destClient } = world);
});

after(async () => {
  removeTempInis();
  await Promise.all([...proxies, ...gates].map((p) => p.stop()));
  await Promise.all([world?.stop(), bigDb?.drop()]);
  rmSync(workDir, { recursive: true, force: true });
});

describe('sync S3 → S3', { concurrency: true }, () => {
  it('copies every referenced object across accounts, then skips them all, then --force re-copies', async (t) => {
    const proxy = await proxyTo(dest.endpoint);
    const ini = config(proxy.endpoint, DEST_BUCKETS.main);
    const reportFile = join(workDir, 'main-report.ndjson');
    let first: CliResult | undefined;

    await t.test('first run: everything present is copied, the 3 missing keys reported', async () => {
      first = await cli(['sync', '--config', ini, '--report', reportFile, '--json']);
      assert.equal(first.code, 0, describeRun(first));
      const summary = assertCounts(first, {
        copied: present.length,
        skipped: 0,
        missing: 3,
        failed: 0,
        bytes: present.reduce((sum, k) => sum + PRESENT_BYTES.get(k.key)!.length, 0),
      });
      assertIntegerCounts(summary as unknown as Record<string, unknown>);

      await assertCopied(DEST_BUCKETS.main, present, MASTODON_CACHE_CONTROL);

      // Different credentials: no server-side copy, every object is a streamed PUT with its ACL.
      const puts = plainPuts(proxy.requests);
      assert.equal(puts.length, present.length, 'one PUT per object');
      assert.equal(
        proxy.requests.filter((r) => r.headers['x-amz-copy-source'] !== undefined).length,
        0,
        'no server-side copy across accounts',
      );
      for (const put of puts) {
        const { key } = parsePath(put.path);
        assert.equal(put.headers['x-amz-acl'], expectedAcl(key), `x-amz-acl of ${key}`);
        assert.equal(put.headers['cache-control'], MASTODON_CACHE_CONTROL);
      }
      assert.equal(puts.filter((p) => p.headers['x-amz-acl'] === 'private').length, 2, 'the 2 backups');

      const report = readReport(reportFile);
      assert.deepEqual(report.map((line) => line.key).sort(), [...ABSENT].sort());
      for (const line of report) {
        assert.equal(line.status, 'missing');
        assert.equal(line.table, byKey.get(line.key)!.table);
      }
    });

    await t.test('a clean run at --log-level warn prints nothing on stderr', () => {
      assert.ok(first, 'the first run ran');
      assert.equal(first.stderr, '', describeRun(first));
    });

    await t.test('re-run: everything skipped, only listings reach the destination', async () => {
      proxy.reset();
      const result = await cli(['sync', '--config', ini, '--json']);
      assert.equal(result.code, 0, describeRun(result));
      assertCounts(result, { copied: 0, skipped: present.length, missing: 3, failed: 0, bytes: 0 });
      assert.deepEqual(
        objectRequests(proxy.requests).map((r) => `${r.method} ${r.path}`),
        [],
        'no GET/HEAD/PUT of any object',
      );
      // The start-up check is a one-key listing; the lookups ask for 18 keys or more.
      const isListing = (r: { method: string; path: string }) =>
        r.method === 'GET' && parsePath(r.path).query.includes('list-type=2');
      const isCheck = (r: { method: string; path: string }) => /[?&]max-keys=1(&|$)/.test(r.path);
      const lists = proxy.requests.filter((r) => isListing(r) && !isCheck(r));
      const bucketChecks = proxy.requests.filter((r) => isListing(r) && isCheck(r));
      assert.equal(
        lists.length + bucketChecks.length,
        proxy.requests.length,
        'only listings and the bucket check',
      );
      // A listing page answers for a whole attachment prefix; with ~60 media rows there are
      // more prefixes (15) than 5% of the objects, so the bound is one LIST per prefix.
      const prefixes = new Set(
        keys.map((k) =>
          k.key
            .split('/')
            .slice(0, k.key.startsWith('cache/') ? 3 : 2)
            .join('/'),
        ),
      );
      assert.ok(lists.length <= prefixes.size, `${lists.length} listings for ${prefixes.size} prefixes`);
      assert.ok(bucketChecks.length <= 1, `${bucketChecks.length} bucket checks`);
    });

    await t.test('--force: every object is copied again', async () => {
      proxy.reset();
      const result = await cli(['sync', '--config', ini, '--json', '--force']);
      assert.equal(result.code, 0, describeRun(result));
      assertCounts(result, { copied: present.length, skipped: 0, missing: 3, failed: 0 });
      const puts = plainPuts(proxy.requests);
      assert.equal(puts.length, present.length, 'PUT count = objects');
      assert.equal(new Set(puts.map((r) => parsePath(r.path).key)).size, present.length, 'each object once');
      await assertCopied(DEST_BUCKETS.main, present, MASTODON_CACHE_CONTROL);
    });
  });

  it('sends no ACL header at all when [s3.destination] acl is empty (backups included)', async () => {
    const proxy = await proxyTo(dest.endpoint);
    const ini = tempIni(
      s3Section('source', sourceCreds(), SOURCE_BUCKET) +
        s3Section('destination', destCreds(proxy.endpoint), DEST_BUCKETS.noAcl, { acl: '' }) +
        db.iniSection(),
    );
    const result = await cli(['sync', 'accounts', 'backups', '--config', ini, '--json']);
    assert.equal(result.code, 0, describeRun(result));
    const expected = present.filter((k) => k.table === 'accounts' || k.table === 'backups');
    assertCounts(result, { copied: expected.length, failed: 0 });
    const puts = plainPuts(proxy.requests);
    assert.equal(puts.length, expected.length);
    assert.ok(puts.some((p) => parsePath(p.path).key.startsWith('backups/')));
    for (const request of proxy.requests) {
      assert.ok(!('x-amz-acl' in request.headers), `${request.method} ${request.path} sends x-amz-acl`);
    }
    await assertCopied(DEST_BUCKETS.noAcl, expected, MASTODON_CACHE_CONTROL);
  });

  it('writes the cache_control of the destination section', async () => {
    const proxy = await proxyTo(dest.endpoint);
    const ini = tempIni(
      s3Section('source', sourceCreds(), SOURCE_BUCKET) +
        s3Section('destination', destCreds(proxy.endpoint), DEST_BUCKETS.cacheControl, {
          cache_control: 'max-age=60',
        }) +
        db.iniSection(),
    );
    const result = await cli(['sync', 'custom_emojis', 'site_uploads', '--config', ini, '--json']);
    assert.equal(result.code, 0, describeRun(result));
    const expected = present.filter((k) => k.table === 'custom_emojis' || k.table === 'site_uploads');
    assertCounts(result, { copied: expected.length, failed: 0 });
    for (const put of plainPuts(proxy.requests)) assert.equal(put.headers['cache-control'], 'max-age=60');
    await assertCopied(DEST_BUCKETS.cacheControl, expected, 'max-age=60');
  });

  it('copies server-side when endpoint and credentials are the same', async (t) => {
    const proxy = await proxyTo(source.endpoint);
    const same = { endpoint: proxy.endpoint, ...SOURCE_KEYS };
    const ini = tempIni(
      s3Section('source', same, SOURCE_BUCKET) +
        s3Section('destination', same, SAME_ACCOUNT_BUCKET) +
        db.iniSection(),
    );
    // site_uploads are left out: their `@1x`/`@2x` styles put an `@` in the key, which the tool
    // rightly sends as %40 in x-amz-copy-source, and s3rver decodes that header with decodeURI
    // (leaving %40) and answers NoSuchKey. Real S3 decodes it fully.
    const tables = [
      'media_attachments',
      'accounts',
      'custom_emojis',
      'preview_cards',
      'preview_card_providers',
      'backups',
    ];
    const expected = present.filter((k) => tables.includes(k.table));
    const result = await cli(['sync', ...tables, '--config', ini, '--json']);
    assert.equal(result.code, 0, describeRun(result));
    assertCounts(result, { copied: expected.length, skipped: 0, missing: 3, failed: 0 });

    const copies = objectRequests(proxy.requests, 'PUT').filter(
      (r) => r.headers['x-amz-copy-source'] !== undefined,
    );
    assert.equal(copies.length, expected.length, 'one CopyObject per object');
    assert.equal(plainPuts(proxy.requests).length, 0, 'no streamed PUT');
    assert.deepEqual(
      objectRequests(proxy.requests, 'GET').map((r) => r.path),
      [],
      'no object was downloaded',
    );
    for (const copy of copies) {
      const { bucket, key } = parsePath(copy.path);
      assert.equal(bucket, SAME_ACCOUNT_BUCKET);
      const copySource = decodeURIComponent(String(copy.headers['x-amz-copy-source']));
      assert.equal(copySource.replace(/^\//, ''), `${SOURCE_BUCKET}/${key}`);
      assert.equal(copy.headers['x-amz-acl'], expectedAcl(key), `x-amz-acl of ${key}`);
    }

    const listed = await listBucket(sourceClient, SAME_ACCOUNT_BUCKET);
    assert.deepEqual([...listed.keys()].sort(), expected.map((k) => k.key).sort());
    const fetched = await fetchAll(
      sourceClient,
      SAME_ACCOUNT_BUCKET,
      expected.map((k) => k.key),
    );
    for (const k of expected) {
      const got = fetched.get(k.key)!;
      assert.equal(got.md5, md5(PRESENT_BYTES.get(k.key)!), `MD5 of ${k.key}`);
      assert.equal(got.cacheControl, MASTODON_CACHE_CONTROL, `Cache-Control of ${k.key}`);
    }

    await t.test('Content-Type: the source’s, or the catalog’s where the source’s is generic', () => {
      const wrong = expected
        .filter((k) => fetched.get(k.key)!.contentType !== expectedType(k))
        .map((k) => `${k.key}: ${fetched.get(k.key)!.contentType} (expected ${expectedType(k)})`);
      assert.deepEqual(wrong, []);
    });
  });

  it('uploads a 41 MB object in parts above multipart_threshold', async () => {
    const proxy = await proxyTo(dest.endpoint);
    const ini = config(proxy.endpoint, DEST_BUCKETS.big, '\n[sync]\nmultipart_threshold = 15MB\n', bigDb);
    const result = await cli(['sync', '--config', ini, '--json']);
    assert.equal(result.code, 0, describeRun(result));
    const small = bigKeys[1]!.key;
    assertCounts(result, {
      copied: 2,
      missing: 0,
      failed: 0,
      bytes: BIG_SIZE + PRESENT_BYTES.get(small)!.length,
    });

    const bigPath = bigKeys[0]!.key;
    const forBig = proxy.requests.filter((r) => parsePath(r.path).key === bigPath);
    const create = forBig.filter(
      (r) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(parsePath(r.path).query),
    );
    assert.equal(create.length, 1, 'one CreateMultipartUpload');
    assert.equal(create[0]!.headers['x-amz-acl'], 'public-read');
    assert.equal(create[0]!.headers['cache-control'], MASTODON_CACHE_CONTROL);
    assert.equal(create[0]!.headers['content-type'], 'video/mp4');
    const parts = forBig.filter((r) => r.method === 'PUT' && parsePath(r.path).query.includes('partNumber='));
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    assert.ok(
      forBig.some((r) => r.method === 'POST' && parsePath(r.path).query.includes('uploadId=')),
      'CompleteMultipartUpload',
    );
    assert.equal(plainPuts(forBig).length, 0, 'no single PUT of the big object');
    assert.equal(plainPuts(proxy.requests).length, 1, 'the small style is one PUT');

    const [sourceBig, destBig, destSmall] = await Promise.all([
      fetchObject(sourceClient, SOURCE_BUCKET, bigPath),
      fetchObject(destClient, DEST_BUCKETS.big, bigPath),
      fetchObject(destClient, DEST_BUCKETS.big, small),
    ]);
    assert.equal(sourceBig.md5, md5(bigBody));
    assert.equal(destBig.md5, sourceBig.md5);
    assert.equal(destBig.size, BIG_SIZE);
    assert.equal(destBig.contentType, 'video/mp4');
    assert.equal(destBig.cacheControl, MASTODON_CACHE_CONTROL);
    assert.equal(destSmall.md5, md5(PRESENT_BYTES.get(small)!));
  });

  it('--dry-run writes nothing and counts what would be copied', async () => {
    const proxy = await proxyTo(dest.endpoint);
    const ini = config(proxy.endpoint, DEST_BUCKETS.dryRun);
    const result = await cli(['sync', '--config', ini, '--json', '--dry-run']);
    assert.equal(result.code, 0, describeRun(result));
    const summary = assertCounts(result, { copied: present.length, skipped: 0, missing: 3, failed: 0 });
    assert.equal(summary.dryRun, true);
    assert.deepEqual(
      proxy.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
      [],
      'no PUT/POST/DELETE',
    );
    assert.deepEqual(objectRequests(proxy.requests), [], 'no object request at all');
    assert.equal((await listBucket(destClient, DEST_BUCKETS.dryRun)).size, 0);
  });

  it('fails before copying when the destination bucket does not exist', async () => {
    const proxy = await proxyTo(dest.endpoint);
    const result = await cli(['sync', '--config', config(proxy.endpoint, 'no-such-bucket-xyz')]);
    assert.equal(result.code, 1, describeRun(result));
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, describeRun(result));
    assert.match(lines[0]!, /no-such-bucket-xyz/);
    assert.match(lines[0]!, /does not exist/);
    assert.equal(result.stdout, '');
    assert.deepEqual(
      proxy.requests.map((r) => ({ method: r.method, ...parsePath(r.path) })),
      [{ method: 'GET', bucket: 'no-such-bucket-xyz', key: '', query: 'list-type=2&max-keys=1&prefix=' }],
      'only the bucket check reached the destination',
    );
  });

  it('fails with a clear message when the destination secret key is wrong, without printing it', async () => {
    const gate = await gateTo(dest.endpoint);
    // The gate verifies signatures (s3rver does not): the right secret passes it.
    const control = s3Client(destCreds(gate.endpoint));
    await control.send(new HeadBucketCommand({ Bucket: DEST_BUCKETS.errors }));
    control.destroy();
    const ini = tempIni(
      s3Section('source', sourceCreds(), SOURCE_BUCKET) +
        s3Section(
          'destination',
          { endpoint: gate.endpoint, accessKeyId: DEST_KEYS.accessKeyId, secretAccessKey: WRONG_SECRET },
          DEST_BUCKETS.errors,
        ) +
        db.iniSection(),
    );
    const result = await cli(['sync', '--config', ini]);
    assert.equal(result.code, 1, describeRun(result));
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, describeRun(result));
    assert.match(lines[0]!, /access_key/);
    assert.match(lines[0]!, /secret_key/);
    assert.match(lines[0]!, new RegExp(DEST_BUCKETS.errors));
    assert.equal(gate.accepted, 1, 'only the control request passed');
    assert.equal((await listBucket(destClient, DEST_BUCKETS.errors)).size, 0);
  });

  it('fails with a clear message when the destination access key is unknown, without printing it', async () => {
    const ini = tempIni(
      s3Section('source', sourceCreds(), SOURCE_BUCKET) +
        s3Section(
          'destination',
          {
            endpoint: dest.endpoint,
            accessKeyId: WRONG_ACCESS_KEY,
            secretAccessKey: DEST_KEYS.secretAccessKey,
          },
          DEST_BUCKETS.errors,
        ) +
        db.iniSection(),
    );
    const result = await cli(['sync', '--config', ini]);
    assert.equal(result.code, 1, describeRun(result));
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, describeRun(result));
    assert.match(lines[0]!, /access_key/);
    assert.match(lines[0]!, /secret_key/);
    assert.equal((await listBucket(destClient, DEST_BUCKETS.errors)).size, 0);
  });

  it('jobs media_attachments --dev --limit 10 copies the first 10 media rows only', async () => {
    const ini = config(dest.endpoint, DEST_BUCKETS.jobs);
    const result = await cli([
      'jobs',
      'media_attachments',
      '--dev',
      '--limit',
      '10',
      '--config',
      ini,
      '--json',
    ]);
    assert.equal(result.code, 0, describeRun(result));
    const firstTen = [...media].sort(byId).slice(0, 10);
    const expected = keysOfRows('media_attachments', firstTen);
    assert.ok(expected.every((k) => !ABSENT.has(k)));
    const summary = assertCounts(result, { copied: expected.length, skipped: 0, missing: 0, failed: 0 });
    assert.deepEqual(Object.keys(summary.tables), ['media_attachments']);
    const listed = await listBucket(destClient, DEST_BUCKETS.jobs);
    assert.deepEqual([...listed.keys()].sort(), [...expected].sort());
  });

  it('--since-id and --offset select the same rows as in plan', async () => {
    const sortedMedia = [...media].sort(byId);
    const sinceId = String(sortedMedia[49]!['id']);
    // Ids ≤ 0 (the instance actor) are never read.
    const sortedAccounts = [...rows.accounts!].filter((r) => BigInt(String(r['id'])) > 0n).sort(byId);
    const cases = [
      {
        bucket: DEST_BUCKETS.sinceId,
        args: ['media_attachments', '--since-id', sinceId],
        expected: keysOfRows('media_attachments', sortedMedia.slice(50)),
      },
      {
        bucket: DEST_BUCKETS.offset,
        args: ['accounts', '--offset', '5'],
        expected: keysOfRows('accounts', sortedAccounts.slice(5)),
      },
    ];
    await Promise.all(
      cases.map(async ({ bucket, args, expected }) => {
        const ini = config(dest.endpoint, bucket);
        const [synced, planned] = await Promise.all([
          cli(['sync', ...args, '--config', ini, '--json']),
          cli(['plan', ...args, '--config', ini]),
        ]);
        assert.equal(synced.code, 0, describeRun(synced));
        assert.equal(planned.code, 0, describeRun(planned));
        const plannedKeys = planned.stdout.split('\n').filter(Boolean).sort();
        assert.deepEqual(plannedKeys, [...expected].sort(), `plan ${args.join(' ')}`);
        const presentExpected = expected.filter((k) => !ABSENT.has(k)).sort();
        assertCounts(synced, {
          copied: presentExpected.length,
          missing: expected.length - presentExpected.length,
          failed: 0,
        });
        const listed = await listBucket(destClient, bucket);
        assert.deepEqual([...listed.keys()].sort(), presentExpected, `sync ${args.join(' ')}`);
      }),
    );
  });
});
