/**
 * Independent test vectors for src/mastodon/catalog.ts, written from the specification
 * /work/shared/spec/mastodon-storage.md alone (section numbers in test names refer to it).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyKeyPrefix, idPartition, keysForRow, styleFilename } from '../../src/mastodon/catalog.ts';
import type { CatalogKey, TableName } from '../../src/mastodon/types.ts';
import {
  accountRow,
  backupRow,
  customEmojiRow,
  importRow,
  mediaRow,
  previewCardProviderRow,
  previewCardRow,
  siteUploadRow,
} from './rows.ts';

// ---------------------------------------------------------------------------------------------
// helpers

interface Common {
  table: TableName;
  id: string;
  attachment: string;
  remote: boolean;
  acl?: string | null;
}

/** One expected style: [key, style, contentType, size (original only; default null)]. */
type Entry = [key: string, style: string, contentType: string, size?: number | null];

function expected(common: Common, entries: Entry[]): CatalogKey[] {
  return entries.map(([key, style, contentType, size]) => ({
    key,
    table: common.table,
    id: common.id,
    attachment: common.attachment,
    style,
    contentType,
    size: size ?? null,
    remote: common.remote,
    acl: common.acl === undefined ? 'public-read' : common.acl,
  }));
}

function project(k: CatalogKey): CatalogKey {
  return {
    key: k.key,
    table: k.table,
    id: k.id,
    attachment: k.attachment,
    style: k.style,
    contentType: k.contentType,
    size: k.size,
    remote: k.remote,
    acl: k.acl,
  };
}

const byKey = (a: CatalogKey, b: CatalogKey) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Asserts the exact set of keys (sorted) with every metadata field. */
function assertKeys(actual: CatalogKey[], want: CatalogKey[]): void {
  const got = actual.map(project).sort(byKey);
  const exp = [...want].sort(byKey);
  assert.deepStrictEqual(
    got.map((k) => k.key),
    exp.map((k) => k.key),
  );
  assert.deepStrictEqual(got, exp);
  assert.equal(new Set(got.map((k) => k.key)).size, got.length, 'keys are unique');
}

function keysOf(actual: CatalogKey[]): string[] {
  return actual.map((k) => k.key).sort();
}

// ---------------------------------------------------------------------------------------------

describe('§10 worked examples', () => {
  test('§10 media 22345792 local image/jpeg → original + small with the same name', () => {
    const row = mediaRow({
      id: '22345792',
      file_file_name: '57859aede991da25.jpeg',
      file_content_type: 'image/jpeg',
      file_file_size: 123456,
      file_storage_schema_version: 1,
      remote_url: '',
      type: 0,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '22345792', attachment: 'file', remote: false }, [
        [
          'media_attachments/files/022/345/792/original/57859aede991da25.jpeg',
          'original',
          'image/jpeg',
          123456,
        ],
        ['media_attachments/files/022/345/792/small/57859aede991da25.jpeg', 'small', 'image/jpeg'],
      ]),
    );
  });

  test('§10 media 21130559 gifv (video/mp4) → original mp4 + small png', () => {
    const row = mediaRow({
      id: '21130559',
      file_file_name: 'bc84838f77991326.mp4',
      file_content_type: 'video/mp4',
      file_file_size: 98765,
      file_storage_schema_version: 1,
      type: 1,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '21130559', attachment: 'file', remote: false }, [
        ['media_attachments/files/021/130/559/original/bc84838f77991326.mp4', 'original', 'video/mp4', 98765],
        ['media_attachments/files/021/130/559/small/bc84838f77991326.png', 'small', 'image/png'],
      ]),
    );
  });

  test('§10 remote media 108361296738754794 static GIF schema 1 → cache/, 6-group partition, small png', () => {
    const row = mediaRow({
      id: '108361296738754794',
      file_file_name: '5785ab0a51d0db1f.gif',
      file_content_type: 'image/gif',
      file_file_size: 5000,
      file_storage_schema_version: 1,
      remote_url: 'https://files.remote.example/media/abc.gif',
      type: 0,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '108361296738754794', attachment: 'file', remote: true }, [
        [
          'cache/media_attachments/files/108/361/296/738/754/794/original/5785ab0a51d0db1f.gif',
          'original',
          'image/gif',
          5000,
        ],
        [
          'cache/media_attachments/files/108/361/296/738/754/794/small/5785ab0a51d0db1f.png',
          'small',
          'image/png',
        ],
      ]),
    );
  });

  test('§10 remote account 464472 GIF header schema 1 → cache/ original + static png', () => {
    const row = accountRow({
      id: '464472',
      domain: 'mastodon.remote.example',
      header_file_name: '2e94bd33745f86a6.gif',
      header_content_type: 'image/gif',
      header_file_size: 777,
      header_storage_schema_version: 1,
      header_remote_url: 'https://mastodon.remote.example/h.gif',
    });
    assertKeys(
      keysForRow('accounts', row),
      expected({ table: 'accounts', id: '464472', attachment: 'header', remote: true }, [
        ['cache/accounts/headers/000/464/472/original/2e94bd33745f86a6.gif', 'original', 'image/gif', 777],
        ['cache/accounts/headers/000/464/472/static/2e94bd33745f86a6.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§10 remote account 23634 avatar with schema NULL → no cache/', () => {
    const row = accountRow({
      id: '23634',
      domain: 'remote.example',
      avatar_file_name: '6ca8804dc46800ad.png',
      avatar_content_type: 'image/png',
      avatar_file_size: 1000,
      avatar_storage_schema_version: null,
      avatar_remote_url: 'https://remote.example/a.png',
    });
    assertKeys(
      keysForRow('accounts', row),
      expected({ table: 'accounts', id: '23634', attachment: 'avatar', remote: true }, [
        ['accounts/avatars/000/023/634/original/6ca8804dc46800ad.png', 'original', 'image/png', 1000],
      ]),
    );
  });

  test('§10 account 108366849347798387 avatar → 6-group partition', () => {
    const row = accountRow({
      id: '108366849347798387',
      avatar_file_name: 'dbcfe99ed5def0f4.png',
      avatar_content_type: 'image/png',
      avatar_file_size: 4242,
      avatar_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('accounts', row),
      expected({ table: 'accounts', id: '108366849347798387', attachment: 'avatar', remote: false }, [
        [
          'accounts/avatars/108/366/849/347/798/387/original/dbcfe99ed5def0f4.png',
          'original',
          'image/png',
          4242,
        ],
      ]),
    );
  });

  test('§10 custom emoji 28691 → original + static png', () => {
    const row = customEmojiRow({
      id: '28691',
      shortcode: 'pompom',
      image_file_name: '6de008d6281f4f59.png',
      image_content_type: 'image/png',
      image_file_size: 2000,
      image_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('custom_emojis', row),
      expected({ table: 'custom_emojis', id: '28691', attachment: 'image', remote: false }, [
        ['custom_emojis/images/000/028/691/original/6de008d6281f4f59.png', 'original', 'image/png', 2000],
        ['custom_emojis/images/000/028/691/static/6de008d6281f4f59.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§10 preview card 45027478 schema 1 → cache/ original only', () => {
    const row = previewCardRow({
      id: '45027478',
      image_file_name: '0783d5e91a14fd49.jpeg',
      image_content_type: 'image/jpeg',
      image_file_size: 40000,
      image_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('preview_cards', row),
      expected({ table: 'preview_cards', id: '45027478', attachment: 'image', remote: true }, [
        [
          'cache/preview_cards/images/045/027/478/original/0783d5e91a14fd49.jpeg',
          'original',
          'image/jpeg',
          40000,
        ],
      ]),
    );
  });

  test('§10 site upload 1 (thumbnail) → original + @1x/@2x png', () => {
    const row = siteUploadRow({
      id: '1',
      var: 'thumbnail',
      file_file_name: '57c12f441d083cde.jpg',
      file_content_type: 'image/jpeg',
      file_file_size: 50000,
    });
    assertKeys(
      keysForRow('site_uploads', row),
      expected({ table: 'site_uploads', id: '1', attachment: 'file', remote: false }, [
        ['site_uploads/files/000/000/001/original/57c12f441d083cde.jpg', 'original', 'image/jpeg', 50000],
        ['site_uploads/files/000/000/001/@1x/57c12f441d083cde.png', '@1x', 'image/png'],
        ['site_uploads/files/000/000/001/@2x/57c12f441d083cde.png', '@2x', 'image/png'],
      ]),
    );
  });

  test('§10 site upload 3 (app_icon) → original + 18 size styles in png', () => {
    const sizes = [
      '57',
      '60',
      '72',
      '76',
      '114',
      '120',
      '144',
      '152',
      '167',
      '180',
      '1024',
      '36',
      '48',
      '96',
      '192',
      '256',
      '384',
      '512',
    ];
    assert.equal(sizes.length, 18);
    const row = siteUploadRow({
      id: '3',
      var: 'app_icon',
      file_file_name: 'accf17b0104f18e5.png',
      file_content_type: 'image/png',
      file_file_size: 300000,
    });
    const keys = keysForRow('site_uploads', row);
    assertKeys(
      keys,
      expected({ table: 'site_uploads', id: '3', attachment: 'file', remote: false }, [
        ['site_uploads/files/000/000/003/original/accf17b0104f18e5.png', 'original', 'image/png', 300000],
        ...sizes.map(
          (s): Entry => [`site_uploads/files/000/000/003/${s}/accf17b0104f18e5.png`, s, 'image/png'],
        ),
      ]),
    );
    assert.ok(keys.some((k) => k.key === 'site_uploads/files/000/000/003/192/accf17b0104f18e5.png'));
  });
});

// ---------------------------------------------------------------------------------------------

describe('§3 idPartition (current kt-paperclip rule)', () => {
  const cases: Array<[string, string, string]> = [
    ['1 digit', '1', '000/000/001'],
    ['5 digits', '23634', '000/023/634'],
    ['8 digits', '21130559', '021/130/559'],
    ['8 digits (brief example)', '22345792', '022/345/792'],
    ['9 digits', '999999999', '999/999/999'],
    ['10 digits (≥ 1e9 → 12-digit padding)', '1000000000', '001/000/000/000'],
    ['11 digits', '12345678901', '012/345/678/901'],
    ['12 digits', '123456789012', '123/456/789/012'],
    ['13 digits (trailing 1 digit dropped)', '1234567890123', '123/456/789/012'],
    ['14 digits (trailing 2 digits dropped)', '12345678901234', '123/456/789/012'],
    ['15 digits', '123456789012345', '123/456/789/012/345'],
    ['17 digits (trailing 2 digits dropped)', '10876529812345678', '108/765/298/123/456'],
    ['18 digits', '108366849347798387', '108/366/849/347/798/387'],
    ['18 digits beyond 2^53 (no float rounding)', '109999999999999999', '109/999/999/999/999/999'],
    ['18 digits beyond 2^53 (odd tail)', '113456789012345677', '113/456/789/012/345/677'],
  ];
  for (const [name, id, want] of cases) {
    test(`§3 ${name}: ${id} → ${want}`, () => {
      assert.equal(idPartition(id), want);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('§4 styleFilename', () => {
  const cases: Array<[string, string, string | undefined, string]> = [
    ['a1b2c3d4e5f60718.jpeg', 'small', undefined, 'a1b2c3d4e5f60718.jpeg'],
    ['a1b2c3d4e5f60718.jpeg', 'small', 'png', 'a1b2c3d4e5f60718.png'],
    ['archive.tar.gz', 'small', undefined, 'archive.tar.gz'],
    ['archive.tar.gz', 'small', 'png', 'archive.tar.png'],
    ['.hidden', 'static', undefined, '.hidden'],
    ['.hidden', 'static', 'png', '.hidden.png'],
    ['..hidden', 'static', 'png', '..hidden.png'],
    ['.hidden.gif', 'static', 'png', '.hidden.png'],
    ['..hidden.gif', 'static', 'png', '..hidden.png'],
    ['foo.', 'small', undefined, 'foo'],
    ['foo.', 'small', 'png', 'foo.png'],
    ['foo..png', 'small', undefined, 'foo..png'],
    ['foo..png', 'small', 'jpeg', 'foo..jpeg'],
    ['noext', 'small', undefined, 'noext'],
    ['noext', 'small', 'png', 'noext.png'],
    ['IMG_01.GIF', 'small', 'png', 'IMG_01.png'],
    ['IMG_01.GIF', 'small', undefined, 'IMG_01.GIF'],
    ['a.b.c', '@1x', 'png', 'a.b.png'],
    ['vlcsnap-2018-08-27-16h43m11s127.png', 'small', undefined, 'vlcsnap-2018-08-27-16h43m11s127.png'],
  ];
  for (const [name, style, format, want] of cases) {
    test(`§4 ${JSON.stringify(name)} style ${style} format ${format ?? '(none)'} → ${JSON.stringify(want)}`, () => {
      assert.equal(styleFilename(name, style, format), want);
    });
  }

  test('§4 style original: the column verbatim, whatever the format', () => {
    assert.equal(styleFilename('IMG_01.GIF', 'original'), 'IMG_01.GIF');
    assert.equal(styleFilename('IMG_01.GIF', 'original', 'jpg'), 'IMG_01.GIF');
    assert.equal(styleFilename('foo.', 'original'), 'foo.');
    assert.equal(styleFilename('.hidden', 'original', 'png'), '.hidden');
    assert.equal(styleFilename('noext', 'original', 'mp4'), 'noext');
    assert.equal(styleFilename('bc84838f77991326.mp4', 'original', 'mp4'), 'bc84838f77991326.mp4');
  });
});

// ---------------------------------------------------------------------------------------------

describe('§1 applyKeyPrefix (S3_KEY_PREFIX)', () => {
  const key = 'media_attachments/files/000/000/001/original/x.png';
  test('§1 empty prefix = no prefix', () => {
    assert.equal(applyKeyPrefix('', key), key);
  });
  test('§1 prefix "abc" → "abc/<key>"', () => {
    assert.equal(applyKeyPrefix('abc', key), `abc/${key}`);
  });
  test('§1 prefix ending in "/" gives a double slash', () => {
    assert.equal(applyKeyPrefix('abc/', key), `abc//${key}`);
  });
  test('§1 one leading "/" is stripped', () => {
    assert.equal(applyKeyPrefix('/abc', key), `abc/${key}`);
  });
  test('§1 only one leading "/" is stripped', () => {
    assert.equal(applyKeyPrefix('//abc', key), `/abc/${key}`);
  });
  test('§1 nested prefix', () => {
    assert.equal(applyKeyPrefix('a/b', `cache/${key}`), `a/b/cache/${key}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§1/§10 key prefix applied by keysForRow', () => {
  const local = mediaRow({
    id: '101',
    file_file_name: 'aaaa.jpeg',
    file_content_type: 'image/jpeg',
    file_storage_schema_version: 1,
  });
  const remote = mediaRow({
    id: '102',
    file_file_name: 'bbbb.mp4',
    file_content_type: 'video/mp4',
    file_storage_schema_version: 1,
    remote_url: 'https://remote.example/v.mp4',
  });
  const cases: Array<[string, string | undefined, string]> = [
    ['no option', undefined, ''],
    ['empty', '', ''],
    ['abc', 'abc', 'abc/'],
    ['abc/ (double slash)', 'abc/', 'abc//'],
    ['/abc (leading slash stripped)', '/abc', 'abc/'],
  ];
  for (const [name, prefix, lead] of cases) {
    test(`§1 keyPrefix ${name}`, () => {
      const opts = prefix === undefined ? undefined : { keyPrefix: prefix };
      assert.deepStrictEqual(keysOf(keysForRow('media_attachments', local, opts)), [
        `${lead}media_attachments/files/000/000/101/original/aaaa.jpeg`,
        `${lead}media_attachments/files/000/000/101/small/aaaa.jpeg`,
      ]);
      assert.deepStrictEqual(keysOf(keysForRow('media_attachments', remote, opts)), [
        `${lead}cache/media_attachments/files/000/000/102/original/bbbb.mp4`,
        `${lead}cache/media_attachments/files/000/000/102/small/bbbb.png`,
      ]);
    });
  }

  test('§1 keyPrefix with full metadata (backup, private ACL kept)', () => {
    const row = backupRow({
      id: '42',
      dump_file_name: 'archive.zip',
      dump_content_type: 'application/zip',
      dump_file_size: '10',
    });
    assertKeys(
      keysForRow('backups', row, { keyPrefix: 'inst' }),
      expected({ table: 'backups', id: '42', attachment: 'dump', remote: false, acl: 'private' }, [
        ['inst/backups/dumps/000/000/042/original/archive.zip', 'original', 'application/zip', 10],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('§2 cache/ rule — accounts (avatar and header independent)', () => {
  // [name, overrides for avatar, expect cache, expect remote]
  const cases: Array<[string, Record<string, unknown>, boolean, boolean]> = [
    ['local, version 1', { domain: null, avatar_storage_schema_version: 1 }, false, false],
    ['local, version NULL', { domain: null, avatar_storage_schema_version: null }, false, false],
    ['remote, version 1', { domain: 'r.example', avatar_storage_schema_version: 1 }, true, true],
    ['remote, version 2 (≥ 1)', { domain: 'r.example', avatar_storage_schema_version: 2 }, true, true],
    ['remote, version 0', { domain: 'r.example', avatar_storage_schema_version: 0 }, false, true],
    ['remote, version NULL', { domain: 'r.example', avatar_storage_schema_version: null }, false, true],
    [
      'remote, column absent (pre-3.1.4)',
      {
        domain: 'r.example',
        avatar_storage_schema_version: undefined,
        header_storage_schema_version: undefined,
      },
      false,
      true,
    ],
    ['domain "" is not NULL → remote', { domain: '', avatar_storage_schema_version: 1 }, true, true],
  ];
  for (const [name, overrides, cache, remote] of cases) {
    test(`§2 accounts.avatar ${name} → ${cache ? 'cache/' : 'no cache/'}, remote ${remote}`, () => {
      const row = accountRow({
        id: '5',
        avatar_file_name: 'cafe.png',
        avatar_content_type: 'image/png',
        avatar_file_size: 12,
        ...overrides,
      });
      assertKeys(
        keysForRow('accounts', row),
        expected({ table: 'accounts', id: '5', attachment: 'avatar', remote }, [
          [
            `${cache ? 'cache/' : ''}accounts/avatars/000/000/005/original/cafe.png`,
            'original',
            'image/png',
            12,
          ],
        ]),
      );
    });
  }

  test('§2 accounts: avatar NULL version, header version 1 on a remote account → only header cached', () => {
    const row = accountRow({
      id: '23439',
      domain: 'oldbytes.example',
      avatar_file_name: '1111.gif',
      avatar_content_type: 'image/gif',
      avatar_file_size: 100,
      avatar_storage_schema_version: null,
      header_file_name: '2222.jpeg',
      header_content_type: 'image/jpeg',
      header_file_size: 200,
      header_storage_schema_version: 1,
    });
    assertKeys(keysForRow('accounts', row), [
      ...expected({ table: 'accounts', id: '23439', attachment: 'avatar', remote: true }, [
        ['accounts/avatars/000/023/439/original/1111.gif', 'original', 'image/gif', 100],
        ['accounts/avatars/000/023/439/static/1111.png', 'static', 'image/png'],
      ]),
      ...expected({ table: 'accounts', id: '23439', attachment: 'header', remote: true }, [
        ['cache/accounts/headers/000/023/439/original/2222.jpeg', 'original', 'image/jpeg', 200],
      ]),
    ]);
  });

  test('§2 accounts: avatar version 1, header version 0 on a remote account → only avatar cached', () => {
    const row = accountRow({
      id: '23440',
      domain: 'r.example',
      avatar_file_name: 'aaaa.png',
      avatar_content_type: 'image/png',
      avatar_file_size: 1,
      avatar_storage_schema_version: 1,
      header_file_name: 'bbbb.gif',
      header_content_type: 'image/gif',
      header_file_size: 2,
      header_storage_schema_version: 0,
    });
    assert.deepStrictEqual(keysOf(keysForRow('accounts', row)), [
      'accounts/headers/000/023/440/original/bbbb.gif',
      'accounts/headers/000/023/440/static/bbbb.png',
      'cache/accounts/avatars/000/023/440/original/aaaa.png',
    ]);
  });

  test('§2 accounts: local? is domain IS NULL, not the 3.1 OStatus remote_url column', () => {
    const row = accountRow(
      {
        id: '7',
        domain: null,
        remote_url: 'https://somewhere.example/users/alice',
        avatar_remote_url: 'https://somewhere.example/a.png',
        avatar_file_name: 'dddd.png',
        avatar_content_type: 'image/png',
        avatar_file_size: 3,
        avatar_storage_schema_version: 1,
      },
      '3.1',
    );
    assertKeys(
      keysForRow('accounts', row),
      expected({ table: 'accounts', id: '7', attachment: 'avatar', remote: false }, [
        ['accounts/avatars/000/000/007/original/dddd.png', 'original', 'image/png', 3],
      ]),
    );
  });
});

describe('§2 cache/ rule — media_attachments.file', () => {
  const cases: Array<[string, Record<string, unknown>, boolean, boolean]> = [
    ['local (remote_url ""), version 1', { remote_url: '', file_storage_schema_version: 1 }, false, false],
    [
      'remote_url NULL (blank), version 1',
      { remote_url: null, file_storage_schema_version: 1 },
      false,
      false,
    ],
    [
      'remote_url spaces only (blank), version 1',
      { remote_url: '   ', file_storage_schema_version: 1 },
      false,
      false,
    ],
    [
      'remote_url tab/newline only (blank), version 1',
      { remote_url: '\t\n ', file_storage_schema_version: 1 },
      false,
      false,
    ],
    [
      'remote, version 1',
      { remote_url: 'https://r.example/m.png', file_storage_schema_version: 1 },
      true,
      true,
    ],
    [
      'remote, version 2',
      { remote_url: 'https://r.example/m.png', file_storage_schema_version: 2 },
      true,
      true,
    ],
    [
      'remote, version 0',
      { remote_url: 'https://r.example/m.png', file_storage_schema_version: 0 },
      false,
      true,
    ],
    [
      'remote, version NULL',
      { remote_url: 'https://r.example/m.png', file_storage_schema_version: null },
      false,
      true,
    ],
    [
      'remote, column absent (pre-3.1.4)',
      { remote_url: 'https://r.example/m.png', file_storage_schema_version: undefined },
      false,
      true,
    ],
  ];
  for (const [name, overrides, cache, remote] of cases) {
    test(`§2 media.file ${name} → ${cache ? 'cache/' : 'no cache/'}, remote ${remote}`, () => {
      const row = mediaRow({
        id: '300',
        file_file_name: 'eeee.png',
        file_content_type: 'image/png',
        file_file_size: 64,
        ...overrides,
      });
      const c = cache ? 'cache/' : '';
      assertKeys(
        keysForRow('media_attachments', row),
        expected({ table: 'media_attachments', id: '300', attachment: 'file', remote }, [
          [`${c}media_attachments/files/000/000/300/original/eeee.png`, 'original', 'image/png', 64],
          [`${c}media_attachments/files/000/000/300/small/eeee.png`, 'small', 'image/png'],
        ]),
      );
    });
  }

  test('§2 media.file 3.1 schema row (no thumbnail columns), remote version 1 → cache/', () => {
    const row = mediaRow(
      {
        id: '301',
        file_file_name: 'ffff.jpeg',
        file_content_type: 'image/jpeg',
        file_file_size: 65,
        file_storage_schema_version: 1,
        remote_url: 'https://r.example/x.jpeg',
      },
      '3.1',
    );
    assert.equal(row['thumbnail_file_name'], undefined);
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '301', attachment: 'file', remote: true }, [
        ['cache/media_attachments/files/000/000/301/original/ffff.jpeg', 'original', 'image/jpeg', 65],
        ['cache/media_attachments/files/000/000/301/small/ffff.jpeg', 'small', 'image/jpeg'],
      ]),
    );
  });
});

describe('§2 cache/ rule — custom_emojis.image', () => {
  const cases: Array<[string, Record<string, unknown>, boolean, boolean]> = [
    ['local, version 1', { domain: null, image_storage_schema_version: 1 }, false, false],
    ['remote, version 1', { domain: 'r.example', image_storage_schema_version: 1 }, true, true],
    ['remote, version NULL', { domain: 'r.example', image_storage_schema_version: null }, false, true],
    ['remote, version 0', { domain: 'r.example', image_storage_schema_version: 0 }, false, true],
    ['remote, column absent', { domain: 'r.example', image_storage_schema_version: undefined }, false, true],
  ];
  for (const [name, overrides, cache, remote] of cases) {
    test(`§2 custom_emojis ${name} → ${cache ? 'cache/' : 'no cache/'}, remote ${remote}`, () => {
      const row = customEmojiRow({
        id: '77',
        image_file_name: '0123456789abcdef.png',
        image_content_type: 'image/png',
        image_file_size: 900,
        image_remote_url: 'https://r.example/e.png',
        ...overrides,
      });
      const c = cache ? 'cache/' : '';
      assertKeys(
        keysForRow('custom_emojis', row),
        expected({ table: 'custom_emojis', id: '77', attachment: 'image', remote }, [
          [
            `${c}custom_emojis/images/000/000/077/original/0123456789abcdef.png`,
            'original',
            'image/png',
            900,
          ],
          [`${c}custom_emojis/images/000/000/077/static/0123456789abcdef.png`, 'static', 'image/png'],
        ]),
      );
    });
  }
});

describe('§2/§5.5 cache/ rule — preview_cards.image (local? always false)', () => {
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['version 1', { image_storage_schema_version: 1 }, true],
    ['version 3', { image_storage_schema_version: 3 }, true],
    ['version 0', { image_storage_schema_version: 0 }, false],
    ['version NULL', { image_storage_schema_version: null }, false],
    ['column absent', { image_storage_schema_version: undefined }, false],
  ];
  for (const [name, overrides, cache] of cases) {
    test(`§2 preview_cards ${name} → ${cache ? 'cache/' : 'no cache/'}, remote always true`, () => {
      const row = previewCardRow({
        id: '88',
        image_file_name: 'abababababababab.png',
        image_content_type: 'image/png',
        image_file_size: 1234,
        ...overrides,
      });
      assertKeys(
        keysForRow('preview_cards', row),
        expected({ table: 'preview_cards', id: '88', attachment: 'image', remote: true }, [
          [
            `${cache ? 'cache/' : ''}preview_cards/images/000/000/088/original/abababababababab.png`,
            'original',
            'image/png',
            1234,
          ],
        ]),
      );
    });
  }

  test('§2 preview_cards 3.1 schema row, version 1 → cache/', () => {
    const row = previewCardRow(
      {
        id: '89',
        image_file_name: 'cdcdcdcdcdcdcdcd.jpeg',
        image_content_type: 'image/jpeg',
        image_file_size: 1,
        image_storage_schema_version: 1,
      },
      '3.1',
    );
    assert.deepStrictEqual(keysOf(keysForRow('preview_cards', row)), [
      'cache/preview_cards/images/000/000/089/original/cdcdcdcdcdcdcdcd.jpeg',
    ]);
  });
});

describe('§2 never cache/ — preview_card_providers, site_uploads, backups, imports', () => {
  test('§2/§5.6 preview_card_providers: has a domain column but never cache/, remote false', () => {
    const row = previewCardProviderRow({
      id: '12',
      domain: 'news.example',
      icon_file_name: 'f0f0f0f0f0f0f0f0.png',
      icon_content_type: 'image/png',
      icon_file_size: '4096',
    });
    assertKeys(
      keysForRow('preview_card_providers', row),
      expected({ table: 'preview_card_providers', id: '12', attachment: 'icon', remote: false }, [
        [
          'preview_card_providers/icons/000/000/012/original/f0f0f0f0f0f0f0f0.png',
          'original',
          'image/png',
          4096,
        ],
        ['preview_card_providers/icons/000/000/012/static/f0f0f0f0f0f0f0f0.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§2 site_uploads never cache/, remote false', () => {
    const row = siteUploadRow({
      id: '9',
      var: 'mascot',
      file_file_name: 'mascot.svg',
      file_content_type: 'image/svg+xml',
      file_file_size: 333,
    });
    assertKeys(
      keysForRow('site_uploads', row),
      expected({ table: 'site_uploads', id: '9', attachment: 'file', remote: false }, [
        ['site_uploads/files/000/000/009/original/mascot.svg', 'original', 'image/svg+xml', 333],
      ]),
    );
  });

  test('§2/§5.8 imports (3.1 schema) never cache/, attachment "data" stays "data"', () => {
    const row = importRow(
      {
        id: '7',
        data_file_name: 'following_accounts.csv',
        data_content_type: 'text/csv',
        data_file_size: 2048,
      },
      '3.1',
    );
    assertKeys(
      keysForRow('imports', row),
      expected({ table: 'imports', id: '7', attachment: 'data', remote: false }, [
        ['imports/data/000/000/007/original/following_accounts.csv', 'original', 'text/csv', 2048],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.1 media_attachments.file style sets by file_content_type', () => {
  // [content type, file name, small: [file name, content type] | null]
  const cases: Array<[string | null, string, [string, string] | null]> = [
    ['image/gif', 'g1.gif', ['g1.png', 'image/png']],
    ['video/webm', 'w1.webm', ['w1.png', 'image/png']],
    ['video/quicktime', 'q1.mov', ['q1.png', 'image/png']],
    ['image/heic', 'h1.heic', ['h1.jpeg', 'image/jpeg']],
    ['image/heif', 'h2.heif', ['h2.jpeg', 'image/jpeg']],
    ['image/avif', 'a1.avif', ['a1.jpeg', 'image/jpeg']],
    ['image/jpeg', 'j1.jpeg', ['j1.jpeg', 'image/jpeg']],
    ['image/jpeg', 'j2.jpg', ['j2.jpg', 'image/jpeg']],
    ['image/jpeg', 'IMG_0001.JPG', ['IMG_0001.JPG', 'image/jpeg']],
    ['image/png', 'p1.png', ['p1.png', 'image/png']],
    ['image/webp', 'wp1.webp', ['wp1.webp', 'image/webp']],
    ['video/mp4', 'm1.mp4', ['m1.png', 'image/png']],
    ['video/ogg', 'o1.ogv', ['o1.png', 'image/png']],
    ['audio/mpeg', 'au1.mp3', null],
    ['audio/ogg', 'au2.ogg', null],
    ['audio/wav', 'au3.wav', null],
    ['audio/flac', 'au4.flac', null],
    ['audio/mp4', 'au5.m4a', null],
    ['video/x-ms-asf', 'asf1.asf', null],
    ['application/octet-stream', 'bin1.bin', null],
    ['image/bmp', 'bmp1.bmp', null],
  ];
  for (const [type, name, small] of cases) {
    test(`§5.1 ${type} (${name}) → ${small ? `original + small/${small[0]} (${small[1]})` : 'original only'}`, () => {
      const row = mediaRow({
        id: '400',
        file_file_name: name,
        file_content_type: type,
        file_file_size: 1000,
        file_storage_schema_version: 1,
      });
      const entries: Entry[] = [
        [`media_attachments/files/000/000/400/original/${name}`, 'original', type!, 1000],
      ];
      if (small) entries.push([`media_attachments/files/000/000/400/small/${small[0]}`, 'small', small[1]]);
      assertKeys(
        keysForRow('media_attachments', row),
        expected({ table: 'media_attachments', id: '400', attachment: 'file', remote: false }, entries),
      );
    });
  }

  test('§5.1 NULL content type → original only (style set uses the column, not the extension); contentType from extension', () => {
    const row = mediaRow({
      id: '401',
      file_file_name: 'n1.png',
      file_content_type: null,
      file_file_size: 10,
      file_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '401', attachment: 'file', remote: false }, [
        ['media_attachments/files/000/000/401/original/n1.png', 'original', 'image/png', 10],
      ]),
    );
  });

  test('§5.1 NULL content type, .mp4 name → original only, contentType video/mp4', () => {
    const row = mediaRow({ id: '402', file_file_name: 'n2.mp4', file_content_type: null });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '402', attachment: 'file', remote: false }, [
        ['media_attachments/files/000/000/402/original/n2.mp4', 'original', 'video/mp4', null],
      ]),
    );
  });

  test('§5.1 NULL file size → size null', () => {
    const row = mediaRow({
      id: '403',
      file_file_name: 's.jpeg',
      file_content_type: 'image/jpeg',
      file_file_size: null,
    });
    const got = keysForRow('media_attachments', row);
    assert.deepStrictEqual(got.map((k) => [k.style, k.size]).sort(), [
      ['original', null],
      ['small', null],
    ]);
  });

  test('§5.1 type and processing are not used for naming (queued/in_progress/failed still give keys)', () => {
    for (const processing of [0, 1, 3, null]) {
      for (const type of [0, 1, 2, 3, 4]) {
        const row = mediaRow({
          id: '404',
          file_file_name: 'v.mp4',
          file_content_type: 'video/mp4',
          type,
          processing,
        });
        assert.deepStrictEqual(keysOf(keysForRow('media_attachments', row)), [
          'media_attachments/files/000/000/404/original/v.mp4',
          'media_attachments/files/000/000/404/small/v.png',
        ]);
      }
    }
  });

  test('§5.1 the column names the original even when it does not match the content type (delayed processing .mov)', () => {
    const row = mediaRow({
      id: '405',
      file_file_name: 'raw.mov',
      file_content_type: 'video/quicktime',
      file_file_size: 77,
      processing: 1,
      type: 2,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '405', attachment: 'file', remote: false }, [
        ['media_attachments/files/000/000/405/original/raw.mov', 'original', 'video/quicktime', 77],
        ['media_attachments/files/000/000/405/small/raw.png', 'small', 'image/png'],
      ]),
    );
  });

  test('§5.1 remote image/heic schema 1 → cache/ original heic + small jpeg', () => {
    const row = mediaRow({
      id: '108500000000000001',
      file_file_name: '0a0a0a0a0a0a0a0a.heic',
      file_content_type: 'image/heic',
      file_file_size: 5,
      file_storage_schema_version: 1,
      remote_url: 'https://r.example/x.heic',
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '108500000000000001', attachment: 'file', remote: true }, [
        [
          'cache/media_attachments/files/108/500/000/000/000/001/original/0a0a0a0a0a0a0a0a.heic',
          'original',
          'image/heic',
          5,
        ],
        [
          'cache/media_attachments/files/108/500/000/000/000/001/small/0a0a0a0a0a0a0a0a.jpeg',
          'small',
          'image/jpeg',
        ],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.2 media_attachments.thumbnail', () => {
  const remoteUrl = 'https://r.example/media/v.mp4';
  const base = {
    id: '500',
    file_file_name: 'vvvv.mp4',
    file_content_type: 'video/mp4',
    file_file_size: 1000,
    thumbnail_file_name: 'tttt.png',
    thumbnail_content_type: 'image/png',
    thumbnail_file_size: 321,
    thumbnail_remote_url: 'https://r.example/media/thumb.png',
  };
  function fileEntries(cache: boolean): Entry[] {
    const c = cache ? 'cache/' : '';
    return [
      [`${c}media_attachments/files/000/000/500/original/vvvv.mp4`, 'original', 'video/mp4', 1000],
      [`${c}media_attachments/files/000/000/500/small/vvvv.png`, 'small', 'image/png'],
    ];
  }
  function thumbEntries(cache: boolean): Entry[] {
    return [
      [
        `${cache ? 'cache/' : ''}media_attachments/thumbnails/000/000/500/original/tttt.png`,
        'original',
        'image/png',
        321,
      ],
    ];
  }

  test('§5.2 local media with a thumbnail (4.6, thumbnail version 1) → thumbnails/original, no cache/', () => {
    const row = mediaRow({
      ...base,
      remote_url: '',
      file_storage_schema_version: 1,
      thumbnail_storage_schema_version: 1,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'file', remote: false },
        fileEntries(false),
      ),
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: false },
        thumbEntries(false),
      ),
    ]);
  });

  test('§2/§5.2 remote media 4.6, file 1 + thumbnail 1 → both cache/', () => {
    const row = mediaRow({
      ...base,
      remote_url: remoteUrl,
      file_storage_schema_version: 1,
      thumbnail_storage_schema_version: 1,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'file', remote: true },
        fileEntries(true),
      ),
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: true },
        thumbEntries(true),
      ),
    ]);
  });

  test('§2/§5.2 remote media 4.6, file 1, thumbnail NULL → file cache/, thumbnail not', () => {
    const row = mediaRow({
      ...base,
      remote_url: remoteUrl,
      file_storage_schema_version: 1,
      thumbnail_storage_schema_version: null,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'file', remote: true },
        fileEntries(true),
      ),
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: true },
        thumbEntries(false),
      ),
    ]);
  });

  test('§2/§5.2 remote media 4.6, file 0, thumbnail 0 → neither cache/', () => {
    const row = mediaRow({
      ...base,
      remote_url: remoteUrl,
      file_storage_schema_version: 0,
      thumbnail_storage_schema_version: 0,
    });
    assert.deepStrictEqual(keysOf(keysForRow('media_attachments', row)), [
      'media_attachments/files/000/000/500/original/vvvv.mp4',
      'media_attachments/files/000/000/500/small/vvvv.png',
      'media_attachments/thumbnails/000/000/500/original/tttt.png',
    ]);
  });

  test('§2/§5.2 remote media 4.6, file NULL, thumbnail 1 → only the thumbnail cache/', () => {
    const row = mediaRow({
      ...base,
      remote_url: remoteUrl,
      file_storage_schema_version: null,
      thumbnail_storage_schema_version: 1,
    });
    assert.deepStrictEqual(keysOf(keysForRow('media_attachments', row)), [
      'cache/media_attachments/thumbnails/000/000/500/original/tttt.png',
      'media_attachments/files/000/000/500/original/vvvv.mp4',
      'media_attachments/files/000/000/500/small/vvvv.png',
    ]);
  });

  test('§2/§5.2 local media (remote_url "") with thumbnail_remote_url set and thumbnail 1 → no cache/, remote false', () => {
    const row = mediaRow({
      ...base,
      remote_url: '',
      thumbnail_remote_url: 'https://elsewhere.example/t.png',
      file_storage_schema_version: 1,
      thumbnail_storage_schema_version: 1,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'file', remote: false },
        fileEntries(false),
      ),
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: false },
        thumbEntries(false),
      ),
    ]);
  });

  test('§2/§5.2 remote_url whitespace-only, thumbnail 1 → blank → no cache/, remote false', () => {
    const row = mediaRow({
      ...base,
      remote_url: '  ',
      file_storage_schema_version: 1,
      thumbnail_storage_schema_version: 1,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'file', remote: false },
        fileEntries(false),
      ),
      ...expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: false },
        thumbEntries(false),
      ),
    ]);
  });

  for (const era of ['3.5', '4.0'] as const) {
    test(`§2/§5.2 remote media ${era} schema (no thumbnail_storage_schema_version column), file 1 → file cache/, thumbnail never`, () => {
      const row = mediaRow(
        {
          ...base,
          remote_url: remoteUrl,
          file_storage_schema_version: 1,
        },
        era,
      );
      assert.equal(row['thumbnail_storage_schema_version'], undefined);
      assertKeys(keysForRow('media_attachments', row), [
        ...expected(
          { table: 'media_attachments', id: '500', attachment: 'file', remote: true },
          fileEntries(true),
        ),
        ...expected(
          { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: true },
          thumbEntries(false),
        ),
      ]);
    });
  }

  test('§5.2 file NULL (type unknown, remote download failed) but thumbnail present → only the thumbnail', () => {
    const row = mediaRow({
      ...base,
      file_file_name: null,
      file_content_type: null,
      file_file_size: null,
      type: 3,
      remote_url: remoteUrl,
      thumbnail_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected(
        { table: 'media_attachments', id: '500', attachment: 'thumbnail', remote: true },
        thumbEntries(true),
      ),
    );
  });

  test('§5.2 empty thumbnail_file_name → no thumbnail key', () => {
    const row = mediaRow({ ...base, thumbnail_file_name: '', thumbnail_storage_schema_version: 1 });
    assert.deepStrictEqual(keysOf(keysForRow('media_attachments', row)), [
      'media_attachments/files/000/000/500/original/vvvv.mp4',
      'media_attachments/files/000/000/500/small/vvvv.png',
    ]);
  });

  test('§5.2 thumbnail_content_type NULL → derived from the extension; audio file original only', () => {
    const row = mediaRow({
      id: '501',
      file_file_name: 'song.mp3',
      file_content_type: 'audio/mpeg',
      file_file_size: 9,
      thumbnail_file_name: 'cover.jpeg',
      thumbnail_content_type: null,
      thumbnail_file_size: null,
    });
    assertKeys(keysForRow('media_attachments', row), [
      ...expected({ table: 'media_attachments', id: '501', attachment: 'file', remote: false }, [
        ['media_attachments/files/000/000/501/original/song.mp3', 'original', 'audio/mpeg', 9],
      ]),
      ...expected({ table: 'media_attachments', id: '501', attachment: 'thumbnail', remote: false }, [
        ['media_attachments/thumbnails/000/000/501/original/cover.jpeg', 'original', 'image/jpeg', null],
      ]),
    ]);
  });

  test('§5.2 thumbnail has only the original style even for a gif thumbnail', () => {
    const row = mediaRow({
      id: '502',
      thumbnail_file_name: 'anim.gif',
      thumbnail_content_type: 'image/gif',
      thumbnail_file_size: 8,
    });
    assertKeys(
      keysForRow('media_attachments', row),
      expected({ table: 'media_attachments', id: '502', attachment: 'thumbnail', remote: false }, [
        ['media_attachments/thumbnails/000/000/502/original/anim.gif', 'original', 'image/gif', 8],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.3 accounts avatar/header styles', () => {
  const cases: Array<[string | null, string, boolean, string]> = [
    ['image/gif', 'x.gif', true, 'image/gif'],
    ['image/png', 'x.png', false, 'image/png'],
    ['image/jpeg', 'x.jpeg', false, 'image/jpeg'],
    ['image/webp', 'x.webp', false, 'image/webp'],
    // static iff the column is image/gif: a NULL column gets no static even for a .gif name
    [null, 'x.gif', false, 'image/gif'],
  ];
  for (const attachment of ['avatar', 'header'] as const) {
    for (const [type, name, hasStatic, origType] of cases) {
      test(`§5.3 ${attachment} ${type ?? 'NULL'} → ${hasStatic ? 'original + static png' : 'original only'}`, () => {
        const row = accountRow({
          id: '600',
          [`${attachment}_file_name`]: name,
          [`${attachment}_content_type`]: type,
          [`${attachment}_file_size`]: 55,
          [`${attachment}_storage_schema_version`]: 1,
        });
        const dir = `accounts/${attachment}s/000/000/600`;
        const entries: Entry[] = [[`${dir}/original/${name}`, 'original', origType, 55]];
        if (hasStatic) entries.push([`${dir}/static/x.png`, 'static', 'image/png']);
        assertKeys(
          keysForRow('accounts', row),
          expected({ table: 'accounts', id: '600', attachment, remote: false }, entries),
        );
      });
    }
  }

  test('§5.3 both avatar and header GIF → 4 keys', () => {
    const row = accountRow({
      id: '601',
      avatar_file_name: 'a.gif',
      avatar_content_type: 'image/gif',
      avatar_file_size: 1,
      header_file_name: 'h.gif',
      header_content_type: 'image/gif',
      header_file_size: 2,
    });
    assertKeys(keysForRow('accounts', row), [
      ...expected({ table: 'accounts', id: '601', attachment: 'avatar', remote: false }, [
        ['accounts/avatars/000/000/601/original/a.gif', 'original', 'image/gif', 1],
        ['accounts/avatars/000/000/601/static/a.png', 'static', 'image/png'],
      ]),
      ...expected({ table: 'accounts', id: '601', attachment: 'header', remote: false }, [
        ['accounts/headers/000/000/601/original/h.gif', 'original', 'image/gif', 2],
        ['accounts/headers/000/000/601/static/h.png', 'static', 'image/png'],
      ]),
    ]);
  });

  test('§5 accounts with no avatar/header (NULL names) → no keys', () => {
    assert.deepStrictEqual(keysForRow('accounts', accountRow({ id: '602' })), []);
  });

  test('§5 accounts with empty avatar name but a header → only the header', () => {
    const row = accountRow({
      id: '603',
      avatar_file_name: '',
      avatar_content_type: 'image/png',
      header_file_name: 'h.png',
      header_content_type: 'image/png',
    });
    assert.deepStrictEqual(keysOf(keysForRow('accounts', row)), [
      'accounts/headers/000/000/603/original/h.png',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.4 custom_emojis always static png', () => {
  test('§5.4 gif emoji → original gif + static png', () => {
    const row = customEmojiRow({
      id: '700',
      image_file_name: 'blobcat.gif',
      image_content_type: 'image/gif',
      image_file_size: 3000,
    });
    assertKeys(
      keysForRow('custom_emojis', row),
      expected({ table: 'custom_emojis', id: '700', attachment: 'image', remote: false }, [
        ['custom_emojis/images/000/000/700/original/blobcat.gif', 'original', 'image/gif', 3000],
        ['custom_emojis/images/000/000/700/static/blobcat.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§5.4 png emoji with NULL content type → static png; original type from extension', () => {
    const row = customEmojiRow({
      id: '701',
      image_file_name: 'blobaww.png',
      image_content_type: null,
      image_file_size: null,
    });
    assertKeys(
      keysForRow('custom_emojis', row),
      expected({ table: 'custom_emojis', id: '701', attachment: 'image', remote: false }, [
        ['custom_emojis/images/000/000/701/original/blobaww.png', 'original', 'image/png', null],
        ['custom_emojis/images/000/000/701/static/blobaww.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§5 custom emoji with NULL image → no keys', () => {
    assert.deepStrictEqual(keysForRow('custom_emojis', customEmojiRow({ id: '702' })), []);
    assert.deepStrictEqual(
      keysForRow('custom_emojis', customEmojiRow({ id: '703', image_file_name: '' })),
      [],
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.5 preview_cards', () => {
  test('§5.5 image/gif → original key keeps .gif, content type image/jpeg', () => {
    const row = previewCardRow({
      id: '800',
      image_file_name: '1234abcd1234abcd.gif',
      image_content_type: 'image/gif',
      image_file_size: 2222,
      image_storage_schema_version: 1,
    });
    assertKeys(
      keysForRow('preview_cards', row),
      expected({ table: 'preview_cards', id: '800', attachment: 'image', remote: true }, [
        [
          'cache/preview_cards/images/000/000/800/original/1234abcd1234abcd.gif',
          'original',
          'image/jpeg',
          2222,
        ],
      ]),
    );
  });

  test('§5.5 image/png → original only, content type image/png', () => {
    const row = previewCardRow({
      id: '801',
      image_file_name: 'p.png',
      image_content_type: 'image/png',
      image_file_size: 1,
      image_storage_schema_version: null,
    });
    assertKeys(
      keysForRow('preview_cards', row),
      expected({ table: 'preview_cards', id: '801', attachment: 'image', remote: true }, [
        ['preview_cards/images/000/000/801/original/p.png', 'original', 'image/png', 1],
      ]),
    );
  });

  test('§5 preview card without image → no keys', () => {
    assert.deepStrictEqual(keysForRow('preview_cards', previewCardRow({ id: '802' })), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.6 preview_card_providers', () => {
  test('§5.6 .ico icon → original + static png, bigint size string → number', () => {
    const row = previewCardProviderRow({
      id: '13',
      icon_file_name: 'fav.ico',
      icon_content_type: 'image/vnd.microsoft.icon',
      icon_file_size: '1150',
    });
    assertKeys(
      keysForRow('preview_card_providers', row),
      expected({ table: 'preview_card_providers', id: '13', attachment: 'icon', remote: false }, [
        [
          'preview_card_providers/icons/000/000/013/original/fav.ico',
          'original',
          'image/vnd.microsoft.icon',
          1150,
        ],
        ['preview_card_providers/icons/000/000/013/static/fav.png', 'static', 'image/png'],
      ]),
    );
  });

  test('§5 provider without icon → no keys', () => {
    assert.deepStrictEqual(keysForRow('preview_card_providers', previewCardProviderRow({ id: '14' })), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.7 site_uploads styles by var', () => {
  const dir = 'site_uploads/files/000/000/020';
  const name = '0f0f0f0f0f0f0f0f.jpeg';
  function row(v: string) {
    return siteUploadRow({
      id: '20',
      var: v,
      file_file_name: name,
      file_content_type: 'image/jpeg',
      file_file_size: 100,
    });
  }
  const original: Entry = [`${dir}/original/${name}`, 'original', 'image/jpeg', 100];
  const png = (style: string): Entry => [`${dir}/${style}/0f0f0f0f0f0f0f0f.png`, style, 'image/png'];
  const common = { table: 'site_uploads' as const, id: '20', attachment: 'file', remote: false };

  test('§5.7 thumbnail → original + @1x + @2x png', () => {
    assertKeys(
      keysForRow('site_uploads', row('thumbnail')),
      expected(common, [original, png('@1x'), png('@2x')]),
    );
  });

  test('§5.7 favicon → original + 16, 32, 48 png', () => {
    assertKeys(
      keysForRow('site_uploads', row('favicon')),
      expected(common, [original, png('16'), png('32'), png('48')]),
    );
  });

  test('§5.7 app_icon → original + 18 sizes png (no ico style)', () => {
    const sizes = [
      '57',
      '60',
      '72',
      '76',
      '114',
      '120',
      '144',
      '152',
      '167',
      '180',
      '1024',
      '36',
      '48',
      '96',
      '192',
      '256',
      '384',
      '512',
    ];
    assertKeys(keysForRow('site_uploads', row('app_icon')), expected(common, [original, ...sizes.map(png)]));
  });

  for (const v of ['mascot', 'hero', 'unknown_var', '', 'Thumbnail']) {
    test(`§5.7 var ${JSON.stringify(v)} → original only`, () => {
      assertKeys(keysForRow('site_uploads', row(v)), expected(common, [original]));
    });
  }

  test('§5.7/§7 pre-4.0 schema site upload (no blurhash column) thumbnail → original only (styles since 4.0.0)', () => {
    const r = siteUploadRow(
      {
        id: '2',
        var: 'thumbnail',
        file_file_name: 'vlcsnap-2018-08-27-16h43m11s127.png',
        file_content_type: 'image/png',
        file_file_size: 999,
      },
      '3.5',
    );
    assert.equal(r['blurhash'], undefined);
    assertKeys(
      keysForRow('site_uploads', r),
      expected({ table: 'site_uploads', id: '2', attachment: 'file', remote: false }, [
        [
          'site_uploads/files/000/000/002/original/vlcsnap-2018-08-27-16h43m11s127.png',
          'original',
          'image/png',
          999,
        ],
      ]),
    );
  });

  test('§5.7/§7 4.0 schema site upload (blurhash column present) thumbnail → @1x/@2x computed', () => {
    const r = siteUploadRow(
      {
        id: '2',
        var: 'thumbnail',
        file_file_name: 'vlcsnap-2018-08-27-16h43m11s127.png',
        file_content_type: 'image/png',
        file_file_size: 999,
      },
      '4.0',
    );
    assert.equal(r['blurhash'], null);
    assertKeys(
      keysForRow('site_uploads', r),
      expected({ table: 'site_uploads', id: '2', attachment: 'file', remote: false }, [
        [
          'site_uploads/files/000/000/002/original/vlcsnap-2018-08-27-16h43m11s127.png',
          'original',
          'image/png',
          999,
        ],
        ['site_uploads/files/000/000/002/@1x/vlcsnap-2018-08-27-16h43m11s127.png', '@1x', 'image/png'],
        ['site_uploads/files/000/000/002/@2x/vlcsnap-2018-08-27-16h43m11s127.png', '@2x', 'image/png'],
      ]),
    );
  });

  test('§5 site upload with NULL file → no keys', () => {
    assert.deepStrictEqual(keysForRow('site_uploads', siteUploadRow({ id: '21', var: 'favicon' })), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§5.8/§6 backups and imports', () => {
  const dumpName = 'archive-20230101120000-0123456789abcdef0123456789abcdef.zip';
  const backup = backupRow({
    id: '42',
    dump_file_name: dumpName,
    dump_content_type: 'application/zip',
    dump_file_size: '123456789012',
  });

  test('§6 backup → original only, ACL private, bigint size string → number', () => {
    assertKeys(
      keysForRow('backups', backup),
      expected({ table: 'backups', id: '42', attachment: 'dump', remote: false, acl: 'private' }, [
        [`backups/dumps/000/000/042/original/${dumpName}`, 'original', 'application/zip', 123456789012],
      ]),
    );
  });

  test('§6 backup with a non-default configured ACL → still private', () => {
    const keys = keysForRow('backups', backup, { acl: 'authenticated-read' });
    assert.deepStrictEqual(
      keys.map((k) => k.acl),
      ['private'],
    );
  });

  test('§6 backup with configured ACL null (S3_PERMISSION="") → no ACL', () => {
    const keys = keysForRow('backups', backup, { acl: null });
    assert.deepStrictEqual(
      keys.map((k) => k.acl),
      [null],
    );
  });

  test('§5 backup with NULL dump → no keys', () => {
    assert.deepStrictEqual(keysForRow('backups', backupRow({ id: '43' })), []);
  });

  test('§5.8 import (4.0 schema) → imports/data/…/original, configured ACL', () => {
    const row = importRow({
      id: '1234567890',
      data_file_name: 'blocked_accounts.csv',
      data_content_type: 'text/csv',
      data_file_size: 12,
    });
    assertKeys(
      keysForRow('imports', row, { acl: 'authenticated-read' }),
      expected(
        { table: 'imports', id: '1234567890', attachment: 'data', remote: false, acl: 'authenticated-read' },
        [['imports/data/001/234/567/890/original/blocked_accounts.csv', 'original', 'text/csv', 12]],
      ),
    );
  });

  test('§5 import with NULL data → no keys', () => {
    assert.deepStrictEqual(keysForRow('imports', importRow({ id: '8' })), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe('§6 ACL option', () => {
  const media = mediaRow({
    id: '900',
    file_file_name: 'm.png',
    file_content_type: 'image/png',
    file_file_size: 1,
    thumbnail_file_name: 't.png',
    thumbnail_content_type: 'image/png',
    thumbnail_file_size: 2,
  });

  test('§6 default (no options / empty options) → public-read everywhere', () => {
    for (const opts of [undefined, {}]) {
      const keys = keysForRow('media_attachments', media, opts);
      assert.equal(keys.length, 3);
      for (const k of keys) assert.equal(k.acl, 'public-read');
    }
  });

  test('§6 acl null → null for every style and attachment', () => {
    const keys = keysForRow('media_attachments', media, { acl: null });
    assert.equal(keys.length, 3);
    for (const k of keys) assert.equal(k.acl, null);
  });

  test('§6 acl null for every table', () => {
    const rows: Array<[TableName, ReturnType<typeof mediaRow>]> = [
      ['accounts', accountRow({ id: '1', avatar_file_name: 'a.gif', avatar_content_type: 'image/gif' })],
      [
        'custom_emojis',
        customEmojiRow({ id: '1', image_file_name: 'e.png', image_content_type: 'image/png' }),
      ],
      [
        'preview_cards',
        previewCardRow({ id: '1', image_file_name: 'c.png', image_content_type: 'image/png' }),
      ],
      [
        'preview_card_providers',
        previewCardProviderRow({ id: '1', icon_file_name: 'i.png', icon_content_type: 'image/png' }),
      ],
      ['site_uploads', siteUploadRow({ id: '1', var: 'favicon', file_file_name: 'f.png' })],
      ['backups', backupRow({ id: '1', dump_file_name: 'b.zip' })],
      ['imports', importRow({ id: '1', data_file_name: 'd.csv' })],
    ];
    for (const [table, row] of rows) {
      const keys = keysForRow(table, row, { acl: null });
      assert.ok(keys.length > 0, table);
      for (const k of keys) assert.equal(k.acl, null, `${table} ${k.key}`);
    }
  });

  test('§6 custom ACL string passed through (non-backup)', () => {
    const keys = keysForRow('media_attachments', media, { acl: 'authenticated-read', keyPrefix: '' });
    for (const k of keys) assert.equal(k.acl, 'authenticated-read');
  });
});

// ---------------------------------------------------------------------------------------------

describe('§3 ids in keys (strings end-to-end, current partition rule)', () => {
  test('§3 18-digit snowflake beyond 2^53 keeps every digit in key and id', () => {
    const id = '109999999999999999';
    const row = mediaRow({ id, file_file_name: 'z.jpeg', file_content_type: 'image/jpeg' });
    const keys = keysForRow('media_attachments', row);
    assert.deepStrictEqual(keysOf(keys), [
      'media_attachments/files/109/999/999/999/999/999/original/z.jpeg',
      'media_attachments/files/109/999/999/999/999/999/small/z.jpeg',
    ]);
    for (const k of keys) assert.equal(k.id, id);
  });

  test('§3 account snowflake 113456789012345677 (odd, > 2^53)', () => {
    const id = '113456789012345677';
    const row = accountRow({
      id,
      domain: 'r.example',
      header_file_name: 'h.png',
      header_content_type: 'image/png',
    });
    const keys = keysForRow('accounts', row);
    assert.deepStrictEqual(keysOf(keys), ['accounts/headers/113/456/789/012/345/677/original/h.png']);
    assert.equal(keys[0]!.id, id);
  });

  test('§3 10-digit sequence id → 4 groups (current rule, not the paperclip 6.0 one)', () => {
    const row = customEmojiRow({
      id: '1000000000',
      image_file_name: 'e.png',
      image_content_type: 'image/png',
    });
    assert.deepStrictEqual(keysOf(keysForRow('custom_emojis', row)), [
      'custom_emojis/images/001/000/000/000/original/e.png',
      'custom_emojis/images/001/000/000/000/static/e.png',
    ]);
  });

  test('§3 13-digit id → trailing digit dropped in the key', () => {
    const row = previewCardRow({
      id: '1234567890123',
      image_file_name: 'c.png',
      image_content_type: 'image/png',
    });
    const keys = keysForRow('preview_cards', row);
    assert.deepStrictEqual(keysOf(keys), ['preview_cards/images/123/456/789/012/original/c.png']);
    assert.equal(keys[0]!.id, '1234567890123');
  });

  test('§3 17-digit id → trailing 2 digits dropped in the key', () => {
    const row = mediaRow({
      id: '10876529812345678',
      file_file_name: 'a.mp3',
      file_content_type: 'audio/mpeg',
    });
    assert.deepStrictEqual(keysOf(keysForRow('media_attachments', row)), [
      'media_attachments/files/108/765/298/123/456/original/a.mp3',
    ]);
  });
});
