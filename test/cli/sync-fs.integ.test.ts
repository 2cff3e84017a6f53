/**
 * `sync` between a Mastodon `public/system` directory and S3, both ways, end to end: the real
 * CLI against a real PostgreSQL database and a real S3 server (s3rver). Also hostile rows whose
 * file names try to leave the destination directory: they must be refused and reported, and
 * nothing may be written outside the root.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { type FakeRow, fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type S3Server, startS3Server } from '../../dev/s3.ts';
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
  fsSection,
  listBucket,
  MASTODON_CACHE_CONTROL,
  md5,
  putObjects,
  readReport,
  removeTempInis,
  s3Client,
  s3Section,
  seedDatabase,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';

const KEYS = { accessKeyId: 'FS-TEST-ACCESS-3H5', secretAccessKey: 'fs-test-Secret-4c5d6e7f' };
const BUCKETS = { fromFs: 'from-fs', toFs: 'to-fs', hostile: 'hostile-src' } as const;
const QUIET = ['--no-progress', '--log-level', 'warn'];

const rows = fakeInstance({ media: 30, seed: 21 });
const keys = referencedKeys(rows);
const BYTES = new Map(keys.map((k) => [k.key, uniqueBytes(k)]));

/** Hostile rows: file names that try to leave the directory, a control character, 4 KB. */
const EVIL = `evil-${randomBytes(6).toString('hex')}`;
function hostileRow(id: string, name: string): FakeRow {
  return {
    id,
    type: 0,
    file_file_name: name,
    file_content_type: 'image/png',
    file_file_size: null,
    file_storage_schema_version: 1,
    remote_url: '',
    thumbnail_file_name: null,
    thumbnail_content_type: null,
    thumbnail_file_size: null,
    thumbnail_storage_schema_version: null,
  };
}
const HOSTILE_ROWS = [
  hostileRow('31000001', `../../../../tmp/${EVIL}.png`),
  hostileRow('31000002', `../../../../../../../../../../../../tmp/${EVIL}-deep.png`),
  hostileRow('31000003', 'a/../../b.png'),
  hostileRow('31000004', `bell\u0007${EVIL}.png`),
  hostileRow('31000005', `${'x'.repeat(4096)}.png`),
];
const hostileRows = fakeInstance({ media: 8, seed: 22 });
const cleanHostileKeys = referencedKeys(hostileRows);
const HOSTILE_BYTES = new Map(cleanHostileKeys.map((k) => [k.key, uniqueBytes(k)]));
const HOSTILE_IDS = new Set(HOSTILE_ROWS.map((r) => String(r['id'])));

let db: TestDatabase;
let hostileDb: TestDatabase;
let s3: S3Server;
let client: S3Client;
let base: string;
const creds = (): Credentials => ({ endpoint: s3.endpoint, ...KEYS });

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli([...args, ...QUIET], { timeoutMs: 90_000 });
  assertClean(result, Object.values(KEYS));
  return result;
}

/** Every file under `dir`, as paths relative to it with `/` separators. */
function walk(dir: string): string[] {
  const found: string[] = [];
  const visit = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) visit(path);
      else found.push(relative(dir, path).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) visit(dir);
  return found.sort();
}

function layOut(root: string, list: readonly CatalogKey[], bytes: ReadonlyMap<string, Buffer>) {
  for (const k of list) {
    const path = join(root, ...k.key.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes.get(k.key)!);
  }
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'msst-sync-fs-'));
  [db, hostileDb, s3] = await Promise.all([
    createTestDatabase('4.6', 'msst_syncfs'),
    createTestDatabase('4.6', 'msst_syncfs_hostile'),
    startS3Server({ buckets: Object.values(BUCKETS), ...KEYS }),
  ]);
  client = s3Client(creds());
  layOut(join(base, 'fs-source'), keys, BYTES);
  const objects = keys.map((k) => ({ key: k.key, body: BYTES.get(k.key)!, contentType: k.contentType }));
  const hostileObjects = cleanHostileKeys.map((k) => ({
    key: k.key,
    body: HOSTILE_BYTES.get(k.key)!,
    contentType: k.contentType,
  }));
  await Promise.all([
    seedDatabase(db, rows),
    seedDatabase(hostileDb, {
      ...hostileRows,
      media_attachments: [...hostileRows.media_attachments!, ...HOSTILE_ROWS],
    }),
    putObjects(client, BUCKETS.toFs, objects),
    putObjects(client, BUCKETS.hostile, hostileObjects),
  ]);
});

after(async () => {
  removeTempInis();
  client?.destroy();
  await Promise.all([db?.drop(), hostileDb?.drop(), s3?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

describe('sync with a filesystem store', { concurrency: true }, () => {
  it('filesystem → S3: every key copied byte-identical, then all skipped', async () => {
    const ini = tempIni(
      fsSection('source', join(base, 'fs-source')) +
        s3Section('destination', creds(), BUCKETS.fromFs) +
        db.iniSection(),
    );
    const first = await cli(['sync', '--config', ini, '--json']);
    assert.equal(first.code, 0, describeRun(first));
    assertCounts(first, {
      copied: keys.length,
      skipped: 0,
      missing: 0,
      failed: 0,
      bytes: keys.reduce((sum, k) => sum + BYTES.get(k.key)!.length, 0),
    });
    const listed = await listBucket(client, BUCKETS.fromFs);
    assert.deepEqual([...listed.keys()].sort(), keys.map((k) => k.key).sort());
    const fetched = await fetchAll(
      client,
      BUCKETS.fromFs,
      keys.map((k) => k.key),
    );
    for (const k of keys) {
      const got = fetched.get(k.key)!;
      assert.equal(got.md5, md5(BYTES.get(k.key)!), `MD5 of ${k.key}`);
      // A directory stores no type: the catalog's is written.
      assert.equal(got.contentType, k.contentType, `Content-Type of ${k.key}`);
      assert.equal(got.cacheControl, MASTODON_CACHE_CONTROL, `Cache-Control of ${k.key}`);
    }

    const again = await cli(['sync', '--config', ini, '--json']);
    assert.equal(again.code, 0, describeRun(again));
    assertCounts(again, { copied: 0, skipped: keys.length, missing: 0, failed: 0 });
  });

  it('S3 → filesystem: every key copied byte-identical, no temp files left, then all skipped', async () => {
    const root = join(base, 'fs-destination', 'public', 'system'); // created by the tool
    const ini = tempIni(
      s3Section('source', creds(), BUCKETS.toFs) + fsSection('destination', root) + db.iniSection(),
    );
    const first = await cli(['sync', '--config', ini, '--json']);
    assert.equal(first.code, 0, describeRun(first));
    assertCounts(first, { copied: keys.length, skipped: 0, missing: 0, failed: 0 });
    const files = walk(root);
    assert.deepEqual(files, keys.map((k) => k.key).sort(), 'exactly the referenced keys, no temp files');
    assert.deepEqual(
      files.filter((f) => f.endsWith('.msst-tmp')),
      [],
    );
    for (const k of keys) {
      const path = join(root, ...k.key.split('/'));
      assert.equal(md5(readFileSync(path)), md5(BYTES.get(k.key)!), `bytes of ${k.key}`);
      // Backups are private: not readable by others.
      const mode = statSync(path).mode & 0o777;
      if (k.table === 'backups') assert.equal(mode & 0o077, 0, `mode of ${k.key}: ${mode.toString(8)}`);
    }

    const again = await cli(['sync', '--config', ini, '--json']);
    assert.equal(again.code, 0, describeRun(again));
    assertCounts(again, { copied: 0, skipped: keys.length, missing: 0, failed: 0 });
    assert.deepEqual(walk(root), keys.map((k) => k.key).sort());
  });

  it('hostile file names are refused and reported, nothing is written outside the root', async () => {
    const outer = join(base, 'hostile', 'a', 'b');
    const root = join(outer, 'c', 'system');
    mkdirSync(root, { recursive: true });
    const reportFile = join(base, 'hostile-report.ndjson');
    const ini = tempIni(
      s3Section('source', creds(), BUCKETS.hostile) + fsSection('destination', root) + hostileDb.iniSection(),
    );
    const result = await cli(['sync', '--config', ini, '--json', '--report', reportFile]);
    assert.equal(result.code, 1, `failures were reported: ${describeRun(result)}`);

    const hostileKeys = HOSTILE_ROWS.flatMap((row) => keysForRow('media_attachments', row));
    assertCounts(result, {
      copied: cleanHostileKeys.length,
      skipped: 0,
      missing: 0,
      failed: hostileKeys.length,
    });

    // Every good key is there, byte-identical; nothing else is anywhere under the temp base.
    assert.deepEqual(walk(root), cleanHostileKeys.map((k) => k.key).sort());
    for (const k of cleanHostileKeys) {
      assert.equal(md5(readFileSync(join(root, ...k.key.split('/')))), md5(HOSTILE_BYTES.get(k.key)!));
    }
    const outside = walk(join(base, 'hostile')).filter(
      (f) => !`${join(base, 'hostile', f)}`.startsWith(`${root}${sep}`),
    );
    assert.deepEqual(outside, [], 'no file outside the destination root');
    for (const dir of [outer, dirname(outer), dirname(dirname(outer)), base, tmpdir(), '/tmp']) {
      const names = readdirSync(dir);
      assert.deepEqual(
        names.filter((n) => n.includes(EVIL) || n === 'b.png'),
        [],
        `${dir} holds an evil file`,
      );
    }
    assert.ok(!existsSync(join('/tmp', `${EVIL}.png`)));
    assert.ok(!existsSync(join('/tmp', `${EVIL}-deep.png`)));
    assert.deepEqual(
      walk(root).filter((f) => f.includes(EVIL) || f.endsWith('/b.png') || f.includes('\u0007')),
      [],
    );

    const report = readReport(reportFile);
    assert.equal(report.length, hostileKeys.length, JSON.stringify(report, null, 1));
    for (const line of report) {
      assert.equal(line.status, 'failed');
      assert.ok(HOSTILE_IDS.has(line.id), `reported row ${line.id} is a hostile one`);
      assert.match(line.reason, /unsafe key/);
    }
    assert.deepEqual(new Set(report.map((line) => line.id)), HOSTILE_IDS, 'every hostile row is reported');
  });
});
