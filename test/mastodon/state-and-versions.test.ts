/**
 * The state of an object (its ACL) and the rules that changed between Mastodon versions:
 * - media of a suspended account or of a discarded status (RemoveStatusService keeps a removed
 *   reported or preserved post discarded and makes its media private) are private;
 * - backups are private from 4.1.1 on, with the default ACL before;
 * - AVIF media keep an AVIF `small` on 4.0–4.1, a JPEG one from 4.2;
 * - the version is told from `schema_migrations` (the fixtures' versions for 3.1, 3.5, 4.0, 4.6).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { keysForRow } from '../../src/mastodon/catalog.ts';
import { NEWEST_RULES } from '../../src/mastodon/types.ts';
import { compareVersions, detectVersion, RELEASES, rulesFor } from '../../src/mastodon/versions.ts';
import { backupRow, mediaRow } from './rows.ts';

const image = { file_file_name: 'a.png', file_content_type: 'image/png' };
const aclsOf = (keys: ReturnType<typeof keysForRow>) => [...new Set(keys.map((k) => k.acl))];

describe('ACL from state', () => {
  test('media of a discarded status are private: every style, file and thumbnail', () => {
    const row = mediaRow({
      ...image,
      thumbnail_file_name: 't.png',
      thumbnail_content_type: 'image/png',
      status_discarded: true,
    });
    const keys = keysForRow('media_attachments', row);
    assert.equal(keys.length, 3);
    assert.deepEqual(aclsOf(keys), ['private']);
  });
  test('media of a suspended account are private', () => {
    assert.deepEqual(
      aclsOf(keysForRow('media_attachments', mediaRow({ ...image, account_suspended: true }))),
      ['private'],
    );
  });
  test('a live status and an active account: the configured ACL', () => {
    const row = mediaRow({ ...image, account_suspended: false, status_discarded: false });
    assert.deepEqual(aclsOf(keysForRow('media_attachments', row)), ['public-read']);
    assert.deepEqual(aclsOf(keysForRow('media_attachments', row, { acl: 'authenticated-read' })), [
      'authenticated-read',
    ]);
  });
  test('S3_PERMISSION empty: no ACL at all, whatever the state (Mastodon skips the ACL calls)', () => {
    const row = mediaRow({ ...image, account_suspended: true, status_discarded: true });
    assert.deepEqual(aclsOf(keysForRow('media_attachments', row, { acl: null })), [null]);
    assert.deepEqual(
      aclsOf(keysForRow('backups', backupRow({ dump_file_name: 'b.tar.gz' }), { acl: null })),
      [null],
    );
  });
  test('backups: private from 4.1.1, the default ACL before', () => {
    const row = backupRow({ dump_file_name: 'b.tar.gz' });
    assert.deepEqual(aclsOf(keysForRow('backups', row)), ['private']);
    const old = { backupsPrivate: false, avifSmallIsJpeg: true };
    assert.deepEqual(aclsOf(keysForRow('backups', row, { rules: old })), ['public-read']);
  });
});

describe('AVIF small by version', () => {
  const avif = mediaRow({ file_file_name: 'x.avif', file_content_type: 'image/avif' });
  test('4.2+: small is JPEG', () => {
    const keys = keysForRow('media_attachments', avif).map((k) => k.key);
    assert.deepEqual(keys, [
      'media_attachments/files/000/000/001/original/x.avif',
      'media_attachments/files/000/000/001/small/x.jpeg',
    ]);
  });
  test('4.0–4.1: small keeps the AVIF name and type', () => {
    const keys = keysForRow('media_attachments', avif, { rules: rulesFor('4.0.0', '4.1.x') });
    assert.deepEqual(
      keys.map((k) => [k.key, k.contentType]),
      [
        ['media_attachments/files/000/000/001/original/x.avif', 'image/avif'],
        ['media_attachments/files/000/000/001/small/x.avif', 'image/avif'],
      ],
    );
  });
  test('HEIC is converted on every version', () => {
    const heic = mediaRow({ file_file_name: 'x.heic', file_content_type: 'image/heic' });
    const keys = keysForRow('media_attachments', heic, { rules: rulesFor('4.0.0', '4.1.x') });
    assert.equal(keys[1]!.key, 'media_attachments/files/000/000/001/small/x.jpeg');
  });
});

describe('rules for a version range', () => {
  test('a range that may reach 4.1.1 keeps backups private (unsure means private)', () => {
    assert.equal(rulesFor('4.1.0', '4.1.0').backupsPrivate, false);
    assert.equal(rulesFor('4.0.2', '4.0.x').backupsPrivate, false);
    assert.equal(rulesFor('4.1.0', '4.1.1').backupsPrivate, true);
    assert.equal(rulesFor('4.1.1', null).backupsPrivate, true);
    assert.equal(rulesFor('3.1.4', '3.1.5').backupsPrivate, false);
  });
  test('AVIF small stays AVIF only when the whole range is 4.0–4.1', () => {
    assert.equal(rulesFor('4.0.0', '4.1.x').avifSmallIsJpeg, false);
    assert.equal(rulesFor('4.1.0', '4.2.0').avifSmallIsJpeg, true);
    assert.equal(rulesFor('3.5.3', '4.0.0').avifSmallIsJpeg, true);
    assert.equal(rulesFor(null, null).avifSmallIsJpeg, true);
  });
  test('versions compare numerically, x is the largest', () => {
    assert.equal(compareVersions('4.1.1', '4.10.0'), -1);
    assert.equal(compareVersions('4.0.x', '4.1.0'), -1);
    assert.equal(compareVersions('4.1.x', '4.1.9'), 1);
    assert.equal(compareVersions('4.2', '4.2.0'), 0);
  });
});

/** The schema version each fixture declares (its header) and its newest schema_migrations row. */
function fixtureVersions(era: string): { declared: string; newest: string } {
  const text = readFileSync(
    join(import.meta.dirname, '..', 'fixtures', `mastodon-schema-${era}.sql`),
    'utf8',
  );
  const declared = /define\(version: ([\d_]+)\)/.exec(text)![1]!.replace(/_/g, '');
  const inserted = [...text.matchAll(/\('(\d{14})'\)/g)].map((m) => m[1]!);
  return { declared, newest: inserted.sort().at(-1)! };
}

describe('version detection from schema_migrations', () => {
  // The release each fixture was taken at (its header) must fall inside the range told.
  const fixtureRelease: Record<string, string> = {
    '3.1': '3.1.4',
    '3.5': '3.5.3',
    '4.0': '4.0.2',
    '4.6': '4.6.0',
  };
  for (const [era, release] of Object.entries(fixtureRelease)) {
    test(`the ${era} fixture's migrations tell a range holding ${release}`, () => {
      const { declared, newest } = fixtureVersions(era);
      assert.equal(newest, declared, 'the fixture lists its schema version as a migration');
      const version = detectVersion(newest);
      assert.equal(version.warning, undefined);
      assert.ok(compareVersions(version.oldest!, release) <= 0, `${version.range} starts after ${release}`);
      assert.ok(compareVersions(version.newest!, release) >= 0, `${version.range} ends before ${release}`);
    });
  }
  test('4.1.0 and 4.1.1 share a schema version: a 4.1 database keeps backups private (unsure means private)', () => {
    const v41 = detectVersion('20221206114142');
    assert.equal(v41.range, '4.1.0–4.1.x');
    assert.equal(v41.rules.backupsPrivate, true);
    assert.equal(v41.rules.avifSmallIsJpeg, false, 'AVIF small is still AVIF on 4.1');
    assert.equal(detectVersion('20221104133904').rules.backupsPrivate, false, '4.0.x: the default ACL');
    assert.equal(detectVersion('20230907150100').rules.avifSmallIsJpeg, true, '4.2: JPEG small');
  });
  test('4.0 fixture: backups keep the default ACL and AVIF small stays AVIF', () => {
    const { rules } = detectVersion(fixtureVersions('4.0').newest);
    assert.deepEqual(rules, { backupsPrivate: false, avifSmallIsJpeg: false });
  });
  test('4.6 fixture: the newest rules', () => {
    assert.deepEqual(detectVersion(fixtureVersions('4.6').newest).rules, NEWEST_RULES);
  });
  test('a schema between two releases is a development build; newer than any known: newest rules, warned', () => {
    const between = detectVersion('20240916190140'); // 4.3.0-rc.1
    assert.match(between.range, /between 4\.2\.x and 4\.3\.0 \(a development build\)/);
    const newer = detectVersion('29990101000000');
    assert.match(newer.range, /^newer than/);
    assert.deepEqual(newer.rules, NEWEST_RULES);
    assert.match(newer.warning ?? '', /newest rules/);
  });
  test('no schema_migrations: unknown, newest rules, warned', () => {
    const unknown = detectVersion(null);
    assert.equal(unknown.range, 'unknown');
    assert.deepEqual(unknown.rules, NEWEST_RULES);
    assert.ok(unknown.warning);
  });
  test('the release table is ordered by schema version and by release', () => {
    for (let i = 1; i < RELEASES.length; i++) {
      assert.ok(RELEASES[i - 1]!.schema < RELEASES[i]!.schema, RELEASES[i]!.version);
      assert.ok(compareVersions(RELEASES[i - 1]!.version, RELEASES[i]!.version) < 0, RELEASES[i]!.version);
    }
  });
});
