/**
 * `plan` end to end: the real CLI (spawned) against real PostgreSQL databases loaded with each
 * era's Mastodon schema and a realistic data set (test/helpers/seed-mastodon.ts). Every
 * expected key below is written out by hand from /work/shared/spec/mastodon-storage.md; none
 * is computed by the catalog under test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { databaseConfig } from '../../src/config/database.ts';
import { readConfigFile } from '../../src/config/load.ts';
import { MastodonDatabase } from '../../src/db/database.ts';
import { readTable } from '../../src/db/reader.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { BIN, type CliResult, hasStackTrace, runCli, writeIni } from '../helpers/cli.ts';
import { createTestDatabase, ERAS, type SchemaEra, type TestDatabase } from '../helpers/pg.ts';
import { seedBulkMedia, seededRowCounts, seedMastodon } from '../helpers/seed-mastodon.ts';

/** CLI runs are mostly CPU (tsx start-up): a few per core keep the cores busy without starving any. */
const CONCURRENCY = Math.max(4, 2 * availableParallelism());
const SECRET = 'S3cr3t-Value-xyz';
const SECRET_KEY = 'S3cr3t-Key-abc';
const BULK_ROWS = 20_000;

// ---------------------------------------------------------------------------------------------
// Expected keys, by hand from the spec (§1–§5). Row comments refer to seed-mastodon.ts.
// ---------------------------------------------------------------------------------------------

/** 3.1: sequence ids, no thumbnail columns. */
const MEDIA_31 = [
  'media_attachments/files/022/345/792/original/57859aede991da25.jpeg',
  'media_attachments/files/022/345/792/small/57859aede991da25.jpeg',
  'cache/media_attachments/files/022/345/793/original/5785ab0a51d0db1f.gif',
  'cache/media_attachments/files/022/345/793/small/5785ab0a51d0db1f.png',
  'media_attachments/files/021/130/559/original/bc84838f77991326.mp4',
  'media_attachments/files/021/130/559/small/bc84838f77991326.png',
  'media_attachments/files/022/345/794/original/f00dfeedcafe0001.mp3',
  'media_attachments/files/022/345/795/original/0123456789abcdef.webm',
  'media_attachments/files/022/345/795/small/0123456789abcdef.png',
  'media_attachments/files/022/345/796/original/fedcba9876543210.heic',
  'media_attachments/files/022/345/796/small/fedcba9876543210.jpeg',
  'cache/media_attachments/files/022/345/799/original/aaaabbbbccccdddd.mp4',
  'cache/media_attachments/files/022/345/799/small/aaaabbbbccccdddd.png',
  'media_attachments/files/022/345/800/original/ünïcødé 画像.png',
  'media_attachments/files/022/345/800/small/ünïcødé 画像.png',
  'media_attachments/files/022/345/801/original/foo.',
  'media_attachments/files/022/345/801/small/foo',
  'media_attachments/files/022/345/802/original/.hidden',
  'media_attachments/files/022/345/802/small/.hidden',
  'media_attachments/files/022/345/803/original/IMG_01.GIF',
  'media_attachments/files/022/345/803/small/IMG_01.png',
  'media_attachments/files/022/345/804/original/whitespace000001.webp',
  'media_attachments/files/022/345/804/small/whitespace000001.webp',
  'media_attachments/files/022/345/805/original/nocontenttype001.bin',
  'cache/media_attachments/files/022/345/806/original/abababababababab.png',
  'cache/media_attachments/files/022/345/806/small/abababababababab.png',
];

/** 3.5 and 4.0: snowflakes, thumbnails never under cache/ (no thumbnail schema column). */
const MEDIA_35_40 = [
  'media_attachments/files/022/345/792/original/57859aede991da25.jpeg',
  'media_attachments/files/022/345/792/small/57859aede991da25.jpeg',
  'cache/media_attachments/files/108/361/296/738/754/794/original/5785ab0a51d0db1f.gif',
  'cache/media_attachments/files/108/361/296/738/754/794/small/5785ab0a51d0db1f.png',
  'media_attachments/files/021/130/559/original/bc84838f77991326.mp4',
  'media_attachments/files/021/130/559/small/bc84838f77991326.png',
  'media_attachments/files/108/366/849/347/798/302/original/f00dfeedcafe0001.mp3',
  'media_attachments/thumbnails/108/366/849/347/798/302/original/c0ca0c0ca0c0ca01.png',
  'media_attachments/files/108/366/849/347/798/303/original/0123456789abcdef.webm',
  'media_attachments/files/108/366/849/347/798/303/small/0123456789abcdef.png',
  'media_attachments/files/108/366/849/347/798/304/original/fedcba9876543210.heic',
  'media_attachments/files/108/366/849/347/798/304/small/fedcba9876543210.jpeg',
  'cache/media_attachments/files/108/366/849/347/798/307/original/aaaabbbbccccdddd.mp4',
  'cache/media_attachments/files/108/366/849/347/798/307/small/aaaabbbbccccdddd.png',
  'media_attachments/thumbnails/108/366/849/347/798/307/original/eeeeffff00001111.jpeg',
  'media_attachments/files/108/366/849/347/798/308/original/ünïcødé 画像.png',
  'media_attachments/files/108/366/849/347/798/308/small/ünïcødé 画像.png',
  'media_attachments/files/108/366/849/347/798/309/original/foo.',
  'media_attachments/files/108/366/849/347/798/309/small/foo',
  'media_attachments/files/108/366/849/347/798/310/original/.hidden',
  'media_attachments/files/108/366/849/347/798/310/small/.hidden',
  'media_attachments/files/108/366/849/347/798/311/original/IMG_01.GIF',
  'media_attachments/files/108/366/849/347/798/311/small/IMG_01.png',
  'media_attachments/files/108/366/849/347/798/312/original/whitespace000001.webp',
  'media_attachments/files/108/366/849/347/798/312/small/whitespace000001.webp',
  'media_attachments/files/108/366/849/347/798/313/original/nocontenttype001.bin',
  'cache/media_attachments/files/108/366/849/347/798/314/original/abababababababab.png',
  'cache/media_attachments/files/108/366/849/347/798/314/small/abababababababab.png',
  'media_attachments/thumbnails/108/366/849/347/798/314/original/cdcdcdcdcdcdcdcd.png',
];

/**
 * 4.6: the remote thumbnail with thumbnail_storage_schema_version = 1 moves under cache/; the
 * local cover art (schema 1) and the never-upgraded remote thumbnail (NULL) do not.
 */
const MEDIA_46 = [
  'media_attachments/files/022/345/792/original/57859aede991da25.jpeg',
  'media_attachments/files/022/345/792/small/57859aede991da25.jpeg',
  'cache/media_attachments/files/108/361/296/738/754/794/original/5785ab0a51d0db1f.gif',
  'cache/media_attachments/files/108/361/296/738/754/794/small/5785ab0a51d0db1f.png',
  'media_attachments/files/021/130/559/original/bc84838f77991326.mp4',
  'media_attachments/files/021/130/559/small/bc84838f77991326.png',
  'media_attachments/files/108/366/849/347/798/302/original/f00dfeedcafe0001.mp3',
  'media_attachments/thumbnails/108/366/849/347/798/302/original/c0ca0c0ca0c0ca01.png',
  'media_attachments/files/108/366/849/347/798/303/original/0123456789abcdef.webm',
  'media_attachments/files/108/366/849/347/798/303/small/0123456789abcdef.png',
  'media_attachments/files/108/366/849/347/798/304/original/fedcba9876543210.heic',
  'media_attachments/files/108/366/849/347/798/304/small/fedcba9876543210.jpeg',
  'cache/media_attachments/files/108/366/849/347/798/307/original/aaaabbbbccccdddd.mp4',
  'cache/media_attachments/files/108/366/849/347/798/307/small/aaaabbbbccccdddd.png',
  'cache/media_attachments/thumbnails/108/366/849/347/798/307/original/eeeeffff00001111.jpeg',
  'media_attachments/files/108/366/849/347/798/308/original/ünïcødé 画像.png',
  'media_attachments/files/108/366/849/347/798/308/small/ünïcødé 画像.png',
  'media_attachments/files/108/366/849/347/798/309/original/foo.',
  'media_attachments/files/108/366/849/347/798/309/small/foo',
  'media_attachments/files/108/366/849/347/798/310/original/.hidden',
  'media_attachments/files/108/366/849/347/798/310/small/.hidden',
  'media_attachments/files/108/366/849/347/798/311/original/IMG_01.GIF',
  'media_attachments/files/108/366/849/347/798/311/small/IMG_01.png',
  'media_attachments/files/108/366/849/347/798/312/original/whitespace000001.webp',
  'media_attachments/files/108/366/849/347/798/312/small/whitespace000001.webp',
  'media_attachments/files/108/366/849/347/798/313/original/nocontenttype001.bin',
  'cache/media_attachments/files/108/366/849/347/798/314/original/abababababababab.png',
  'cache/media_attachments/files/108/366/849/347/798/314/small/abababababababab.png',
  'media_attachments/thumbnails/108/366/849/347/798/314/original/cdcdcdcdcdcdcdcd.png',
];

/** Instance actor -99 and accounts 5 (no images) reference nothing. */
const ACCOUNTS_31 = [
  'accounts/avatars/000/000/001/original/dbcfe99ed5def0f0.png',
  'accounts/headers/000/000/001/original/c0ffee0000000001.jpeg',
  'accounts/avatars/000/023/634/original/6ca8804dc46800ad.png',
  'cache/accounts/avatars/000/464/472/original/2e94bd33745f86a6.gif',
  'cache/accounts/avatars/000/464/472/static/2e94bd33745f86a6.png',
  'accounts/headers/000/464/472/original/9f8e7d6c5b4a3928.gif',
  'accounts/headers/000/464/472/static/9f8e7d6c5b4a3928.png',
];

const ACCOUNTS_35_ON = [
  ...ACCOUNTS_31,
  'accounts/avatars/108/366/849/347/798/387/original/dbcfe99ed5def0f4.png',
  'cache/accounts/avatars/108/366/849/347/798/390/original/0a1b2c3d4e5f6071.jpeg',
];

const CUSTOM_EMOJIS = [
  'custom_emojis/images/000/028/691/original/6de008d6281f4f59.png',
  'custom_emojis/images/000/028/691/static/6de008d6281f4f59.png',
  'cache/custom_emojis/images/000/028/692/original/a0b1c2d3e4f5a6b7.gif',
  'cache/custom_emojis/images/000/028/692/static/a0b1c2d3e4f5a6b7.png',
  'custom_emojis/images/000/028/693/original/ffeeddccbbaa9988.png',
  'custom_emojis/images/000/028/693/static/ffeeddccbbaa9988.png',
  'custom_emojis/images/000/028/694/original/blobaww.png',
  'custom_emojis/images/000/028/694/static/blobaww.png',
];

/** local? is always false for cards: schema 1 → cache/, NULL → not; GIF keeps its .gif name. */
const PREVIEW_CARDS = [
  'cache/preview_cards/images/045/027/478/original/0783d5e91a14fd49.jpeg',
  'preview_cards/images/045/027/479/original/1234abcd5678ef90.gif',
  'cache/preview_cards/images/045/027/480/original/abcdef0123456789.gif',
];

const PREVIEW_CARD_PROVIDERS = [
  'preview_card_providers/icons/000/000/001/original/a1a2a3a4a5a6a7a8.png',
  'preview_card_providers/icons/000/000/001/static/a1a2a3a4a5a6a7a8.png',
  'preview_card_providers/icons/000/000/002/original/f0e1d2c3b4a59687.ico',
  'preview_card_providers/icons/000/000/002/static/f0e1d2c3b4a59687.png',
];

/** Before 4.0 (no site_uploads.blurhash) the thumbnail has no @1x/@2x styles (§5.7, §8.4). */
const SITE_UPLOADS_PRE_40 = [
  'site_uploads/files/000/000/001/original/57c12f441d083cde.jpeg',
  'site_uploads/files/000/000/002/original/b2c3d4e5f6a7b8c9.png',
  'site_uploads/files/000/000/002/16/b2c3d4e5f6a7b8c9.png',
  'site_uploads/files/000/000/002/32/b2c3d4e5f6a7b8c9.png',
  'site_uploads/files/000/000/002/48/b2c3d4e5f6a7b8c9.png',
  'site_uploads/files/000/000/003/original/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/57/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/60/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/72/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/76/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/114/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/120/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/144/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/152/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/167/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/180/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/1024/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/36/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/48/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/96/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/192/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/256/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/384/accf17b0104f18e5.png',
  'site_uploads/files/000/000/003/512/accf17b0104f18e5.png',
  'site_uploads/files/000/000/004/original/mascot.png',
  'site_uploads/files/000/000/005/original/hero_image.jpg',
];

const SITE_UPLOADS_40_ON = [
  ...SITE_UPLOADS_PRE_40,
  'site_uploads/files/000/000/001/@1x/57c12f441d083cde.png',
  'site_uploads/files/000/000/001/@2x/57c12f441d083cde.png',
];

const BACKUPS = [
  'backups/dumps/000/000/001/original/archive-20230101120000-0123456789abcdef0123456789abcdef.zip',
];

const IMPORTS = [
  'imports/data/000/000/001/original/following_accounts.csv',
  'imports/data/000/000/002/original/blocked_accounts.csv',
];

const EXPECTED: Readonly<Record<SchemaEra, readonly string[]>> = {
  '3.1': [
    ...MEDIA_31,
    ...ACCOUNTS_31,
    ...CUSTOM_EMOJIS,
    ...PREVIEW_CARDS,
    ...SITE_UPLOADS_PRE_40,
    ...BACKUPS,
    ...IMPORTS,
  ],
  '3.5': [
    ...MEDIA_35_40,
    ...ACCOUNTS_35_ON,
    ...CUSTOM_EMOJIS,
    ...PREVIEW_CARDS,
    ...PREVIEW_CARD_PROVIDERS,
    ...SITE_UPLOADS_PRE_40,
    ...BACKUPS,
    ...IMPORTS,
  ],
  '4.0': [
    ...MEDIA_35_40,
    ...ACCOUNTS_35_ON,
    ...CUSTOM_EMOJIS,
    ...PREVIEW_CARDS,
    ...PREVIEW_CARD_PROVIDERS,
    ...SITE_UPLOADS_40_ON,
    ...BACKUPS,
    ...IMPORTS,
  ],
  '4.6': [
    ...MEDIA_46,
    ...ACCOUNTS_35_ON,
    ...CUSTOM_EMOJIS,
    ...PREVIEW_CARDS,
    ...PREVIEW_CARD_PROVIDERS,
    ...SITE_UPLOADS_40_ON,
    ...BACKUPS,
  ],
};

/** The table a key belongs to (its first segment after an optional cache/). */
function tableOf(key: string): string {
  return key.replace(/^cache\//, '').split('/')[0]!;
}

function sorted(keys: Iterable<string>): string[] {
  return [...keys].sort();
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const dbs = new Map<SchemaEra, TestDatabase>();
let bulk: TestDatabase;

/** A [pg.database] section for `db`, with a distinctive password (the server trusts 127.0.0.1). */
function dbSection(db: TestDatabase): string {
  return [
    '[pg.database]',
    `host = ${db.host}`,
    `port = ${db.port}`,
    `user = ${db.user}`,
    `password = ${db.password || SECRET}`,
    `database = ${db.name}`,
    '',
  ].join('\n');
}

function iniFor(db: TestDatabase, extra = ''): string {
  return writeIni(`${dbSection(db)}${extra ? `\n${extra}` : ''}`);
}

function era(name: SchemaEra): TestDatabase {
  return dbs.get(name)!;
}

/** Exit 0, nothing secret, no stack trace. */
function assertOk(r: CliResult): void {
  assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
  assertClean(r);
}

function assertClean(r: CliResult): void {
  for (const secret of [SECRET, SECRET_KEY]) {
    assert.ok(!r.stdout.includes(secret), 'secret on stdout');
    assert.ok(!r.stderr.includes(secret), 'secret on stderr');
  }
  assert.equal(hasStackTrace(r.stderr), false, r.stderr);
  assert.equal(hasStackTrace(r.stdout), false);
}

function lines(text: string): string[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'output ends with a newline');
  return text.slice(0, -1).split('\n');
}

async function plan(
  args: readonly string[],
  ini: string,
  options: Parameters<typeof runCli>[1] = {},
): Promise<CliResult> {
  return runCli(['plan', '--config', ini, ...args], options);
}

const plainRuns = new Map<string, Promise<CliResult>>();

/**
 * `plan ARGS` against an era's database with a plain INI (only [pg.database]). Identical runs
 * are shared between tests: each spawn costs a tsx start-up.
 */
function planEra(name: SchemaEra, args: readonly string[] = []): Promise<CliResult> {
  const id = `${name} ${args.join(' ')}`;
  if (!plainRuns.has(id)) plainRuns.set(id, plan(args, iniFor(era(name))));
  return plainRuns.get(id)!;
}

before(async () => {
  const created = await Promise.all([
    ...ERAS.map(async (name) => {
      const db = await createTestDatabase(name, 'msst_plan');
      await seedMastodon(db.client, name);
      return [name, db] as const;
    }),
  ]);
  for (const [name, db] of created) dbs.set(name, db);
  bulk = await createTestDatabase('4.6', 'msst_bulk');
  await seedBulkMedia(bulk.client, BULK_ROWS);
});

after(async () => {
  await Promise.all([...dbs.values(), bulk].filter(Boolean).map((db) => db.drop()));
});

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('plan lists exactly the referenced keys, per Mastodon era', { concurrency: CONCURRENCY }, () => {
  for (const name of ERAS) {
    it(`${name}: every key, once, nothing else (only [pg.database] in the INI)`, async () => {
      const r = await planEra(name);
      assertOk(r);
      assert.equal(r.stderr, '', 'nothing logged at the default level');
      const out = lines(r.stdout);
      assert.equal(new Set(out).size, out.length, 'no key listed twice');
      assert.deepEqual(sorted(out), sorted(EXPECTED[name]));
    });
  }

  it('4.6: tables come out in the canonical order', async () => {
    const r = await planEra('4.6');
    assertOk(r);
    const tables = lines(r.stdout).map(tableOf);
    const order = [...new Set(tables)];
    assert.deepEqual(order, [
      'media_attachments',
      'accounts',
      'custom_emojis',
      'preview_cards',
      'preview_card_providers',
      'site_uploads',
      'backups',
    ]);
    // Once a table ends it never comes back.
    assert.equal(tables.filter((t, i) => i > 0 && t !== tables[i - 1]).length, order.length - 1);
  });

  it('4.6: each table is listed in numeric id order (sequence ids before snowflakes)', async () => {
    const r = await planEra('4.6', ['--format', 'ndjson']);
    assertOk(r);
    const records = lines(r.stdout).map((line) => JSON.parse(line) as { table: string; id: string });
    for (let i = 1; i < records.length; i++) {
      const [prev, cur] = [records[i - 1]!, records[i]!];
      if (prev.table !== cur.table) continue;
      assert.ok(BigInt(cur.id) >= BigInt(prev.id), `${cur.table}: id ${cur.id} listed after ${prev.id}`);
    }
  });
});

describe('plan --format ndjson', { concurrency: CONCURRENCY }, () => {
  const FIELDS = ['key', 'table', 'id', 'attachment', 'style', 'contentType', 'size', 'remote', 'acl'];

  async function ndjson(name: SchemaEra, args: string[] = [], extra = '') {
    const r = extra
      ? await plan(['--format', 'ndjson', ...args], iniFor(era(name), extra))
      : await planEra(name, ['--format', 'ndjson', ...args]);
    assertOk(r);
    const records = lines(r.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    return { r, records, byKey: new Map(records.map((rec) => [rec['key'] as string, rec])) };
  }

  for (const name of ['3.1', '4.6'] as const) {
    it(`${name}: one object per key with exactly the documented fields; ids are strings`, async () => {
      const { records } = await ndjson(name);
      assert.deepEqual(sorted(records.map((rec) => rec['key'] as string)), sorted(EXPECTED[name]));
      for (const rec of records) {
        assert.deepEqual(Object.keys(rec), FIELDS);
        assert.equal(typeof rec['id'], 'string');
        assert.match(rec['id'] as string, /^[1-9]\d*$/);
        assert.equal(tableOf(rec['key'] as string), rec['table']);
        assert.equal(typeof rec['remote'], 'boolean');
        assert.ok(rec['size'] === null || Number.isSafeInteger(rec['size']));
        assert.ok(rec['style'] === 'original' || rec['size'] === null, 'only originals carry a size');
        assert.ok((rec['key'] as string).includes(`/${rec['style']}/`));
      }
    });
  }

  it('4.6: field values for representative keys (snowflakes exact, sizes, types, remote, acl)', async () => {
    const { r, byKey } = await ndjson('4.6');
    // The 18-digit id is printed as the exact string, not a rounded number.
    assert.ok(r.stdout.includes('"id":"108366849347798387"'));
    assert.ok(!r.stdout.includes('108366849347798380'));
    const expect = (key: string, fields: Record<string, unknown>) =>
      assert.deepEqual(byKey.get(key), { key, ...fields }, key);

    expect('accounts/avatars/108/366/849/347/798/387/original/dbcfe99ed5def0f4.png', {
      table: 'accounts',
      id: '108366849347798387',
      attachment: 'avatar',
      style: 'original',
      contentType: 'image/png',
      size: 4444,
      remote: false,
      acl: 'public-read',
    });
    expect('cache/media_attachments/files/108/361/296/738/754/794/small/5785ab0a51d0db1f.png', {
      table: 'media_attachments',
      id: '108361296738754794',
      attachment: 'file',
      style: 'small',
      contentType: 'image/png',
      size: null,
      remote: true,
      acl: 'public-read',
    });
    expect('cache/media_attachments/thumbnails/108/366/849/347/798/307/original/eeeeffff00001111.jpeg', {
      table: 'media_attachments',
      id: '108366849347798307',
      attachment: 'thumbnail',
      style: 'original',
      contentType: 'image/jpeg',
      size: 654,
      remote: true,
      acl: 'public-read',
    });
    expect('media_attachments/files/108/366/849/347/798/304/small/fedcba9876543210.jpeg', {
      table: 'media_attachments',
      id: '108366849347798304',
      attachment: 'file',
      style: 'small',
      contentType: 'image/jpeg',
      size: null,
      remote: false,
      acl: 'public-read',
    });
    // Whitespace-only remote_url is blank: a local row.
    expect('media_attachments/files/108/366/849/347/798/312/original/whitespace000001.webp', {
      table: 'media_attachments',
      id: '108366849347798312',
      attachment: 'file',
      style: 'original',
      contentType: 'image/webp',
      size: 14,
      remote: false,
      acl: 'public-read',
    });
    expect('media_attachments/files/108/366/849/347/798/313/original/nocontenttype001.bin', {
      table: 'media_attachments',
      id: '108366849347798313',
      attachment: 'file',
      style: 'original',
      contentType: 'application/octet-stream',
      size: 15,
      remote: false,
      acl: 'public-read',
    });
    expect('media_attachments/files/108/366/849/347/798/308/original/ünïcødé 画像.png', {
      table: 'media_attachments',
      id: '108366849347798308',
      attachment: 'file',
      style: 'original',
      contentType: 'image/png',
      size: 10,
      remote: false,
      acl: 'public-read',
    });
    // A GIF card image is stored as JPEG under its .gif name (§5.5).
    expect('preview_cards/images/045/027/479/original/1234abcd5678ef90.gif', {
      table: 'preview_cards',
      id: '45027479',
      attachment: 'image',
      style: 'original',
      contentType: 'image/jpeg',
      size: 45678,
      remote: true,
      acl: 'public-read',
    });
    expect('cache/accounts/avatars/000/464/472/static/2e94bd33745f86a6.png', {
      table: 'accounts',
      id: '464472',
      attachment: 'avatar',
      style: 'static',
      contentType: 'image/png',
      size: null,
      remote: true,
      acl: 'public-read',
    });
    expect('site_uploads/files/000/000/003/1024/accf17b0104f18e5.png', {
      table: 'site_uploads',
      id: '3',
      attachment: 'file',
      style: '1024',
      contentType: 'image/png',
      size: null,
      remote: false,
      acl: 'public-read',
    });
    expect('preview_card_providers/icons/000/000/002/static/f0e1d2c3b4a59687.png', {
      table: 'preview_card_providers',
      id: '2',
      attachment: 'icon',
      style: 'static',
      contentType: 'image/png',
      size: null,
      remote: false,
      acl: 'public-read',
    });
    // Backups: private whatever the default ACL; a bigint size above 2^31 survives.
    expect(BACKUPS[0]!, {
      table: 'backups',
      id: '1',
      attachment: 'dump',
      style: 'original',
      contentType: 'application/zip',
      size: 5000000000,
      remote: false,
      acl: 'private',
    });
  });

  it('3.1: imports are listed with their own names', async () => {
    const { byKey } = await ndjson('3.1', ['imports']);
    assert.deepEqual([...byKey.keys()], IMPORTS);
    assert.deepEqual(byKey.get(IMPORTS[0]!), {
      key: IMPORTS[0],
      table: 'imports',
      id: '1',
      attachment: 'data',
      style: 'original',
      contentType: 'text/csv',
      size: 120,
      remote: false,
      acl: 'public-read',
    });
  });

  it('[s3.destination] acl = (empty): acl null for every key, backups included', async () => {
    const { records } = await ndjson(
      '4.6',
      ['backups', 'custom_emojis'],
      `[s3.destination]\nsecret_key = ${SECRET_KEY}\nacl =\n`,
    );
    assert.equal(records.length, CUSTOM_EMOJIS.length + BACKUPS.length);
    for (const rec of records) assert.equal(rec['acl'], null, String(rec['key']));
  });

  it('[s3.destination] acl = authenticated-read: that ACL, backups still private', async () => {
    const { records } = await ndjson(
      '4.6',
      ['backups', 'custom_emojis'],
      `[s3.destination]\nsecret_key = ${SECRET_KEY}\nacl = authenticated-read\n`,
    );
    assert.equal(records.length, CUSTOM_EMOJIS.length + BACKUPS.length);
    for (const rec of records) {
      assert.equal(rec['acl'], rec['table'] === 'backups' ? 'private' : 'authenticated-read');
    }
  });

  it('[s3.destination] without acl: public-read, backups private', async () => {
    const { records } = await ndjson(
      '4.6',
      ['backups', 'accounts'],
      `[s3.destination]\nsecret_key = ${SECRET_KEY}\n`,
    );
    assert.equal(records.length, ACCOUNTS_35_ON.length + BACKUPS.length);
    for (const rec of records) {
      assert.equal(rec['acl'], rec['table'] === 'backups' ? 'private' : 'public-read');
    }
  });
});

describe('plan --format summary', { concurrency: CONCURRENCY }, () => {
  interface SummaryRow {
    rows: number;
    keys: number;
    local: number;
    remote: number;
  }

  function parseSummary(text: string): Map<string, SummaryRow> {
    // The first table, up to the blank line before the pre-flight estimate.
    const [header, ...rows] = lines(`${text.split('\n\n')[0]!}\n`);
    assert.match(header!, /^table\s+rows\s+keys\s+local keys\s+remote keys\s+known bytes$/);
    const result = new Map<string, SummaryRow>();
    for (const row of rows) {
      const [table, rowsCell, keys, local, remote] = row.trim().split(/\s+/);
      const n = (cell: string | undefined) => Number(cell!.replace(/,/g, ''));
      result.set(table!, { rows: n(rowsCell), keys: n(keys), local: n(local), remote: n(remote) });
    }
    return result;
  }

  for (const name of ERAS) {
    it(`${name}: rows and keys per table (rows with id ≤ 0 not counted)`, async () => {
      const r = await planEra(name, ['--format', 'summary']);
      assertOk(r);
      const summary = parseSummary(r.stdout);
      const rowCounts = seededRowCounts(name);
      const expectedTables = Object.keys(rowCounts);
      assert.deepEqual(sorted(summary.keys()), sorted([...expectedTables, 'total']));
      let totalRows = 0;
      for (const table of expectedTables) {
        const row = summary.get(table)!;
        const keys = EXPECTED[name].filter((key) => tableOf(key) === table).length;
        assert.equal(row.rows, rowCounts[table], `${table} rows`);
        assert.equal(row.keys, keys, `${table} keys`);
        assert.equal(row.local + row.remote, keys, `${table} local + remote`);
        totalRows += rowCounts[table]!;
      }
      const total = summary.get('total')!;
      assert.equal(total.rows, totalRows);
      assert.equal(total.keys, EXPECTED[name].length);
    });
  }

  it('4.6: local/remote split, by hand', async () => {
    const r = await planEra('4.6', ['--format', 'summary']);
    assertOk(r);
    const s = parseSummary(r.stdout);
    assert.match(r.stdout, /\nMastodon 4\.6\.0–4\.6\.x \(schema version 20260611150940\)\n$/);
    // Remote media: M2 (2 keys), M3 (2), M9 (3), M13 (2), M16 (3).
    assert.deepEqual(s.get('media_attachments'), { rows: 16, keys: 29, local: 17, remote: 12 });
    // Remote accounts: 23634 (1), 464472 (4), 108366849347798390 (1).
    assert.deepEqual(s.get('accounts'), { rows: 6, keys: 9, local: 3, remote: 6 });
    assert.deepEqual(s.get('custom_emojis'), { rows: 4, keys: 8, local: 4, remote: 4 });
    assert.deepEqual(s.get('preview_cards'), { rows: 4, keys: 3, local: 0, remote: 3 });
    assert.deepEqual(s.get('preview_card_providers'), { rows: 3, keys: 4, local: 4, remote: 0 });
    assert.deepEqual(s.get('site_uploads'), { rows: 5, keys: 28, local: 28, remote: 0 });
    assert.deepEqual(s.get('backups'), { rows: 2, keys: 1, local: 1, remote: 0 });
  });

  it('summary with a TYPE lists only that table', async () => {
    const r = await plan(['backups', '--format', 'summary'], iniFor(era('3.5')));
    assertOk(r);
    assert.deepEqual(sorted(parseSummary(r.stdout).keys()), ['backups', 'total']);
  });
});

describe('plan TYPE arguments', { concurrency: CONCURRENCY }, () => {
  it('one type', async () => {
    const r = await plan(['accounts'], iniFor(era('4.6')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(ACCOUNTS_35_ON));
  });

  it('several types, in any order, come out in the canonical table order', async () => {
    const r = await plan(['backups', 'custom_emojis', 'accounts'], iniFor(era('4.6')));
    assertOk(r);
    const out = lines(r.stdout);
    assert.deepEqual(sorted(out), sorted([...ACCOUNTS_35_ON, ...CUSTOM_EMOJIS, ...BACKUPS]));
    assert.deepEqual([...new Set(out.map(tableOf))], ['accounts', 'custom_emojis', 'backups']);
  });

  it('a type named twice is listed once', async () => {
    const r = await plan(['preview_cards', 'preview_cards'], iniFor(era('4.0')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(PREVIEW_CARDS));
  });

  it('3.1: site uploads and imports', async () => {
    const r = await plan(['site_uploads', 'imports'], iniFor(era('3.1')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted([...SITE_UPLOADS_PRE_40, ...IMPORTS]));
  });

  it('3.5: preview_card_providers', async () => {
    const r = await plan(['preview_card_providers'], iniFor(era('3.5')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(PREVIEW_CARD_PROVIDERS));
  });
});

describe('plan --limit, --offset, --since-id', { concurrency: CONCURRENCY }, () => {
  // 4.6 media rows in id order: 21130559 (M3), 22345792 (M1), 108361296738754794 (M2),
  // 108366849347798302 … 108366849347798314 (M4 … M16).
  const M3 = [
    'media_attachments/files/021/130/559/original/bc84838f77991326.mp4',
    'media_attachments/files/021/130/559/small/bc84838f77991326.png',
  ];
  const M1 = [
    'media_attachments/files/022/345/792/original/57859aede991da25.jpeg',
    'media_attachments/files/022/345/792/small/57859aede991da25.jpeg',
  ];
  const M2 = [
    'cache/media_attachments/files/108/361/296/738/754/794/original/5785ab0a51d0db1f.gif',
    'cache/media_attachments/files/108/361/296/738/754/794/small/5785ab0a51d0db1f.png',
  ];
  const M4 = [
    'media_attachments/files/108/366/849/347/798/302/original/f00dfeedcafe0001.mp3',
    'media_attachments/thumbnails/108/366/849/347/798/302/original/c0ca0c0ca0c0ca01.png',
  ];
  const M16 = [
    'cache/media_attachments/files/108/366/849/347/798/314/original/abababababababab.png',
    'cache/media_attachments/files/108/366/849/347/798/314/small/abababababababab.png',
    'media_attachments/thumbnails/108/366/849/347/798/314/original/cdcdcdcdcdcdcdcd.png',
  ];

  const media = (args: string[]) => plan(['media_attachments', ...args], iniFor(era('4.6')));

  it('--limit 2: the first two rows by id, keys in row order', async () => {
    const r = await media(['--limit', '2']);
    assertOk(r);
    assert.deepEqual(lines(r.stdout), [...M3, ...M1]);
  });

  it('--offset 1 --limit 2', async () => {
    const r = await media(['--offset', '1', '--limit', '2']);
    assertOk(r);
    assert.deepEqual(lines(r.stdout), [...M1, ...M2]);
  });

  it('--offset 15: only the last row', async () => {
    const r = await media(['--offset', '15']);
    assertOk(r);
    assert.deepEqual(lines(r.stdout), M16);
  });

  it('--offset past the end: nothing, exit 0', async () => {
    const r = await media(['--offset', '100']);
    assertOk(r);
    assert.equal(r.stdout, '');
  });

  it('--since-id is exclusive', async () => {
    const r = await media(['--since-id', '22345792']);
    assertOk(r);
    const expected = MEDIA_46.filter((key) => !M3.includes(key) && !M1.includes(key));
    assert.deepEqual(sorted(lines(r.stdout)), sorted(expected));
  });

  it('--since-id with an 18-digit snowflake is exact (no float rounding)', async () => {
    // As a double, 108366849347798313 rounds to …320, which would skip M16 (…314).
    const r = await media(['--since-id', '108366849347798313']);
    assertOk(r);
    assert.deepEqual(lines(r.stdout), M16);
  });

  it('--since-id --offset --limit combined', async () => {
    const r = await media(['--since-id', '22345792', '--offset', '1', '--limit', '1']);
    assertOk(r);
    assert.deepEqual(lines(r.stdout), M4);
  });

  it('--since-id 0 is the same as none', async () => {
    const r = await media(['--since-id', '0']);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(MEDIA_46));
  });

  it('--batch-size 1 still lists every row (ids of mixed length)', async () => {
    const r = await media(['--batch-size', '1']);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(MEDIA_46));
  });

  it('accounts with --batch-size 2 still lists every row (pre-3.4 ids and snowflakes)', async () => {
    const r = await plan(['accounts', '--batch-size', '2'], iniFor(era('4.6')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(ACCOUNTS_35_ON));
  });

  it('--limit applies per table; the instance actor (id -99) is never read', async () => {
    const r = await plan(['--limit', '1'], iniFor(era('4.6')));
    assertOk(r);
    assert.deepEqual(
      sorted(lines(r.stdout)),
      sorted([
        ...M3,
        'accounts/avatars/000/000/001/original/dbcfe99ed5def0f0.png',
        'accounts/headers/000/000/001/original/c0ffee0000000001.jpeg',
        'custom_emojis/images/000/028/691/original/6de008d6281f4f59.png',
        'custom_emojis/images/000/028/691/static/6de008d6281f4f59.png',
        'cache/preview_cards/images/045/027/478/original/0783d5e91a14fd49.jpeg',
        'preview_card_providers/icons/000/000/001/original/a1a2a3a4a5a6a7a8.png',
        'preview_card_providers/icons/000/000/001/static/a1a2a3a4a5a6a7a8.png',
        'site_uploads/files/000/000/001/original/57c12f441d083cde.jpeg',
        'site_uploads/files/000/000/001/@1x/57c12f441d083cde.png',
        'site_uploads/files/000/000/001/@2x/57c12f441d083cde.png',
        ...BACKUPS,
      ]),
    );
  });

  it('ids ≤ 0 are never listed, whatever the options', async () => {
    for (const args of [[], ['--since-id', '0'], ['--offset', '0'], ['--limit', '100']]) {
      const r = await plan(['accounts', '--format', 'ndjson', ...args], iniFor(era('3.5')));
      assertOk(r);
      const ids = lines(r.stdout).map((line) => (JSON.parse(line) as { id: string }).id);
      assert.ok(ids.length > 0);
      assert.ok(!ids.includes('-99'));
      assert.ok(!r.stdout.includes('actor0000000000'), args.join(' '));
    }
  });
});

describe('plan key prefix (S3_KEY_PREFIX)', { concurrency: CONCURRENCY }, () => {
  const base = [...CUSTOM_EMOJIS, ...BACKUPS];
  const run = (args: string[], extra = '') =>
    plan(['custom_emojis', 'backups', ...args], iniFor(era('4.0'), extra));

  it('--key-prefix', async () => {
    const r = await run(['--key-prefix', 'mastodon']);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base.map((key) => `mastodon/${key}`)));
  });

  it('[s3.source] key_prefix', async () => {
    const r = await run([], `[s3.source]\nsecret_key = ${SECRET_KEY}\nkey_prefix = instance-a\n`);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base.map((key) => `instance-a/${key}`)));
  });

  it('--key-prefix overrides [s3.source] key_prefix', async () => {
    const r = await run(['--key-prefix', 'from-flag'], '[s3.source]\nkey_prefix = from-ini\n');
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base.map((key) => `from-flag/${key}`)));
  });

  it('a prefix ending in / gives a double slash, as Paperclip does (§1)', async () => {
    const r = await run(['--key-prefix', 'a/b/']);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base.map((key) => `a/b//${key}`)));
  });

  it('a leading / is stripped once (§1)', async () => {
    const r = await run(['--key-prefix', '/x']);
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base.map((key) => `x/${key}`)));
  });

  it('[s3.source] type = filesystem ignores key_prefix (S3 only)', async () => {
    const r = await run([], '[s3.source]\ntype = filesystem\npath = /srv/system\nkey_prefix = ignored\n');
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(base));
  });

  it('cache/ comes after the prefix', async () => {
    const r = await run(['--key-prefix', 'p']);
    assertOk(r);
    assert.ok(
      lines(r.stdout).includes('p/cache/custom_emojis/images/000/028/692/static/a0b1c2d3e4f5a6b7.png'),
    );
  });
});

describe('plan output streams', { concurrency: CONCURRENCY }, () => {
  it('stdout carries only keys; logs (debug, text) go to stderr', async () => {
    const r = await plan(['--log-level', 'debug'], iniFor(era('4.6')));
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(EXPECTED['4.6']));
    assert.match(r.stderr, /debug/);
    assert.match(r.stderr, /listed/);
    assert.ok(!r.stderr.includes('media_attachments/files/'), 'no keys on stderr');
  });

  it('[celery] log_level = DEBUG with --log-format json: JSON log lines on stderr only', async () => {
    const r = await plan(
      ['--log-format', 'json'],
      iniFor(era('4.0'), '[celery]\nlog_level = DEBUG\nbroker = redis://localhost:6379/0\n'),
    );
    assertOk(r);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(EXPECTED['4.0']));
    const logLines = lines(r.stderr);
    assert.ok(logLines.length > 0, 'debug lines were logged');
    for (const line of logLines) JSON.parse(line);
  });

  it('plan | head -1 stops early and exits 0, without noise', async () => {
    const ini = iniFor(bulk);
    const command = `{ "${process.execPath}" "${BIN}" plan --config "${ini}" --batch-size 500; echo "cli-exit=$?" >&2; } | head -1`;
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn('sh', ['-c', command], {
          env: { ...process.env, CONFIG_FILE: '', CONFIG_FILE_NAME: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      'media_attachments/files/108/000/000/000/000/007/original/0000000000000001.jpeg\n',
    );
    assert.match(r.stderr, /^cli-exit=0$/m, r.stderr);
    assert.equal(r.stderr.replace(/^cli-exit=0\n/m, ''), '', 'nothing else on stderr');
  });

  it('a large table streams completely (20,000 rows, 40,000 keys)', async () => {
    const r = await plan(['--batch-size', '500'], iniFor(bulk));
    assertOk(r);
    const out = lines(r.stdout);
    assert.equal(out.length, 2 * BULK_ROWS);
    assert.equal(out[0], 'media_attachments/files/108/000/000/000/000/007/original/0000000000000001.jpeg');
    assert.equal(out[1], 'media_attachments/files/108/000/000/000/000/007/small/0000000000000001.jpeg');
    // Last row: id 108000000000000000 + 7 * 20000 = 108000000000140000, name hex(20000) = 4e20.
    assert.equal(out.at(-1), 'media_attachments/files/108/000/000/000/140/000/small/0000000000004e20.jpeg');
  });
});

describe('config file location', { concurrency: CONCURRENCY }, () => {
  /** A working directory with private/config.ini and private/named.ini, plus two other files. */
  function layout() {
    const db = era('4.6');
    const cwd = mkdtempSync(join(tmpdir(), 'msst-cwd-'));
    mkdirSync(join(cwd, 'private'));
    mkdirSync(join(cwd, 'elsewhere'));
    const write = (path: string, prefix: string) =>
      writeFileSync(join(cwd, path), `${dbSection(db)}\n[s3.source]\nkey_prefix = ${prefix}\n`);
    write('private/config.ini', 'from-default');
    write('private/named.ini', 'from-name');
    write('elsewhere/env.ini', 'from-env');
    write('elsewhere/flag.ini', 'from-flag');
    return cwd;
  }

  async function prefixUsed(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const r = await runCli(['plan', 'backups', ...args], { cwd, env });
    assertOk(r);
    const out = lines(r.stdout);
    assert.equal(out.length, 1);
    return out[0]!.split('/')[0]!;
  }

  it('default: private/config.ini under the working directory', async () => {
    assert.equal(await prefixUsed([], layout()), 'from-default');
  });

  it('CONFIG_FILE_NAME: a file name inside private/', async () => {
    assert.equal(await prefixUsed([], layout(), { CONFIG_FILE_NAME: 'named.ini' }), 'from-name');
  });

  it('CONFIG_FILE (relative to the working directory) beats CONFIG_FILE_NAME', async () => {
    const env = { CONFIG_FILE: 'elsewhere/env.ini', CONFIG_FILE_NAME: 'named.ini' };
    assert.equal(await prefixUsed([], layout(), env), 'from-env');
  });

  it('CONFIG_FILE as an absolute path', async () => {
    const cwd = layout();
    const env = { CONFIG_FILE: join(cwd, 'elsewhere/env.ini') };
    assert.equal(await prefixUsed([], mkdtempSync(join(tmpdir(), 'msst-other-')), env), 'from-env');
  });

  it('--config beats CONFIG_FILE and CONFIG_FILE_NAME', async () => {
    const cwd = layout();
    const env = { CONFIG_FILE: 'elsewhere/env.ini', CONFIG_FILE_NAME: 'named.ini' };
    assert.equal(await prefixUsed(['--config', 'elsewhere/flag.ini'], cwd, env), 'from-flag');
    assert.equal(await prefixUsed(['-c', join(cwd, 'elsewhere/flag.ini')], cwd, env), 'from-flag');
  });
});

describe('database session', () => {
  function openDirect(db: TestDatabase, log = silentLogger) {
    const config = databaseConfig(readConfigFile(iniFor(db)));
    return MastodonDatabase.open(config, log);
  }

  it('is read-only: an INSERT fails with SQLSTATE 25006 and writes nothing', async () => {
    const target = era('4.6');
    const before = await target.client.query<{ n: string }>('SELECT count(*)::text AS n FROM backups');
    const db = await openDirect(target);
    try {
      const [mode] = await db.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      assert.equal(mode?.transaction_read_only, 'on');
      await assert.rejects(
        db.query(
          "INSERT INTO backups (dump_file_name, created_at, updated_at) VALUES ('x.zip', now(), now())",
        ),
        (error: { code?: string }) => error.code === '25006',
      );
      await assert.rejects(
        db.query('UPDATE accounts SET username = $1 WHERE id = 1', ['mallory']),
        (error: { code?: string }) => error.code === '25006',
      );
    } finally {
      await db.close();
    }
    const afterCount = await target.client.query<{ n: string }>('SELECT count(*)::text AS n FROM backups');
    assert.deepEqual(afterCount.rows, before.rows);
  });

  it('survives a terminated backend mid-read: every id once, in order, still read-only', async () => {
    const warnings: string[] = [];
    const log = createLogger({ level: 'warn', format: 'json', write: (line) => warnings.push(line) });
    const db = await openDirect(bulk, log);
    try {
      const columns = (await db.introspect()).get('media_attachments')!;
      const expected = (
        await bulk.client.query<{ id: string }>('SELECT id::text AS id FROM media_attachments ORDER BY id')
      ).rows.map((row) => row.id);
      assert.equal(expected.length, BULK_ROWS);

      const pidOf = async () => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
      const firstPid = await pidOf();
      const ids: string[] = [];
      let batches = 0;
      for await (const rows of readTable(db, 'media_attachments', columns, { batchSize: 500 })) {
        batches++;
        assert.ok(rows.length <= 500);
        for (const row of rows) ids.push(String(row['id']));
        if (batches === 1) {
          const killed = await bulk.client.query<{ ok: boolean }>(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
              WHERE datname = $1 AND application_name = 'mastodon-s3-sync' AND pid = $2`,
            [bulk.name, firstPid],
          );
          assert.deepEqual(
            killed.rows.map((row) => row.ok),
            [true],
            'exactly one tool session was terminated',
          );
        }
      }
      assert.equal(batches, BULK_ROWS / 500);
      assert.equal(ids.length, expected.length);
      assert.deepEqual(ids, expected, 'every id exactly once, in order');
      for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]!) > BigInt(ids[i - 1]!));
      assert.ok(
        warnings.some((line) => /reconnecting/.test(line)),
        `a reconnect was logged: ${warnings.join('')}`,
      );
      assert.notEqual(await pidOf(), firstPid, 'a new session was opened');
      // The new session is read-only too.
      await assert.rejects(
        db.query('INSERT INTO backups (created_at, updated_at) VALUES (now(), now())'),
        (error: { code?: string }) => error.code === '25006',
      );
    } finally {
      await db.close();
    }
  });
});
