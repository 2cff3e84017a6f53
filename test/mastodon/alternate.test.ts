/**
 * alternateKey (spec §8.5, §8.7): where else an object may sit when its key is missing at the
 * source — `cache/` keys without it; remote keys with it when the table has no schema-version
 * column for the attachment; nothing otherwise.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alternateKey, keysForRow } from '../../src/mastodon/catalog.ts';
import type { CatalogKey, Row, TableName } from '../../src/mastodon/types.ts';
import {
  accountRow,
  backupRow,
  mediaRow,
  previewCardProviderRow,
  previewCardRow,
  siteUploadRow,
} from './rows.ts';

function item(table: TableName, attachment: string, key: string, remote: boolean): CatalogKey {
  return {
    key,
    table,
    id: '1',
    attachment,
    style: 'original',
    contentType: 'image/png',
    size: null,
    remote,
    acl: 'public-read',
  };
}

const ALL_COLUMNS = new Set([
  'file_storage_schema_version',
  'thumbnail_storage_schema_version',
  'avatar_storage_schema_version',
  'header_storage_schema_version',
  'image_storage_schema_version',
]);
const NO_COLUMNS = new Set<string>();

const P18 = '108/361/296/738/754/794';
const P9 = '000/000/001';

interface Case {
  name: string;
  item: CatalogKey;
  columns: ReadonlySet<string>;
  expected: string | null;
}

const CASES: Case[] = [
  // A `cache/` key: the same key without `cache/`, whatever the row and columns say.
  ...(
    [
      ['media_attachments', 'file', `media_attachments/files/${P18}/original/a.gif`],
      ['media_attachments', 'thumbnail', `media_attachments/thumbnails/${P18}/original/t.jpeg`],
      ['accounts', 'avatar', `accounts/avatars/${P18}/static/a.png`],
      ['accounts', 'header', `accounts/headers/${P9}/original/h.jpg`],
      ['custom_emojis', 'image', `custom_emojis/images/${P9}/static/e.png`],
      ['preview_cards', 'image', `preview_cards/images/${P9}/original/c.jpg`],
    ] as const
  ).flatMap(([table, attachment, plain]) =>
    [ALL_COLUMNS, NO_COLUMNS].map((columns) => ({
      name: `cache/ ${table}.${attachment} → without cache/ (${columns.size ? 'with' : 'without'} columns)`,
      item: item(table, attachment, `cache/${plain}`, true),
      columns,
      expected: plain,
    })),
  ),
  // A remote row's key without `cache/`, the table lacking the attachment's schema column.
  {
    name: 'remote media file, no file_storage_schema_version column → cache/',
    item: item('media_attachments', 'file', `media_attachments/files/${P18}/original/a.png`, true),
    columns: NO_COLUMNS,
    expected: `cache/media_attachments/files/${P18}/original/a.png`,
  },
  {
    name: 'remote media thumbnail, only the file column exists → cache/',
    item: item('media_attachments', 'thumbnail', `media_attachments/thumbnails/${P18}/original/t.png`, true),
    columns: new Set(['file_storage_schema_version']),
    expected: `cache/media_attachments/thumbnails/${P18}/original/t.png`,
  },
  {
    name: 'remote avatar, only the header column exists → cache/',
    item: item('accounts', 'avatar', `accounts/avatars/${P9}/original/a.png`, true),
    columns: new Set(['header_storage_schema_version']),
    expected: `cache/accounts/avatars/${P9}/original/a.png`,
  },
  {
    name: 'preview card (always remote), no column → cache/',
    item: item('preview_cards', 'image', `preview_cards/images/${P9}/original/c.jpg`, true),
    columns: NO_COLUMNS,
    expected: `cache/preview_cards/images/${P9}/original/c.jpg`,
  },
  {
    name: 'remote custom emoji static style, no column → cache/',
    item: item('custom_emojis', 'image', `custom_emojis/images/${P9}/static/e.png`, true),
    columns: NO_COLUMNS,
    expected: `cache/custom_emojis/images/${P9}/static/e.png`,
  },
  // The column exists: the version was known (NULL/0 → genuinely no cache/): nowhere else.
  {
    name: 'remote media file, column present → null',
    item: item('media_attachments', 'file', `media_attachments/files/${P18}/original/a.png`, true),
    columns: ALL_COLUMNS,
    expected: null,
  },
  {
    name: 'remote avatar, column present → null',
    item: item('accounts', 'avatar', `accounts/avatars/${P9}/original/a.png`, true),
    columns: ALL_COLUMNS,
    expected: null,
  },
  // Local rows: never cache/.
  {
    name: 'local media file, no column → null',
    item: item('media_attachments', 'file', `media_attachments/files/${P9}/original/a.png`, false),
    columns: NO_COLUMNS,
    expected: null,
  },
  {
    name: 'local account avatar, column present → null',
    item: item('accounts', 'avatar', `accounts/avatars/${P9}/original/a.png`, false),
    columns: ALL_COLUMNS,
    expected: null,
  },
  // Tables whose attachment has no `local?`: never cache/, so nowhere else.
  ...(
    [
      ['site_uploads', 'file', `site_uploads/files/${P9}/original/f.png`],
      ['site_uploads', 'file', `site_uploads/files/${P9}/192/f.png`],
      ['backups', 'dump', `backups/dumps/${P9}/original/archive.zip`],
      ['imports', 'data', `imports/data/${P9}/original/follows.csv`],
      ['preview_card_providers', 'icon', `preview_card_providers/icons/${P9}/original/i.png`],
      ['site_uploads', 'file', `cache/site_uploads/files/${P9}/original/f.png`],
    ] as const
  ).flatMap(([table, attachment, key]) =>
    [true, false].map((remote) => ({
      name: `${table}.${attachment} ${key.startsWith('cache/') ? '(cache/-looking) ' : ''}remote=${remote} → null`,
      item: item(table, attachment, key, remote),
      columns: NO_COLUMNS,
      expected: null,
    })),
  ),
  // An attachment name the table does not have.
  {
    name: 'unknown attachment → null',
    item: item('media_attachments', 'poster', `media_attachments/posters/${P9}/original/a.png`, true),
    columns: NO_COLUMNS,
    expected: null,
  },
  // Keys with an S3 key prefix.
  {
    name: 'key prefix + cache/ → key prefix without cache/',
    item: item(
      'media_attachments',
      'file',
      `mastodon/cache/media_attachments/files/${P18}/original/a.gif`,
      true,
    ),
    columns: ALL_COLUMNS,
    expected: `mastodon/media_attachments/files/${P18}/original/a.gif`,
  },
  {
    name: 'nested key prefix + cache/',
    item: item('accounts', 'header', `a/b/cache/accounts/headers/${P9}/original/h.jpg`, true),
    columns: NO_COLUMNS,
    expected: `a/b/accounts/headers/${P9}/original/h.jpg`,
  },
  {
    name: 'key prefix, remote, no column → cache/ after the prefix',
    item: item('media_attachments', 'file', `mastodon/media_attachments/files/${P18}/original/a.png`, true),
    columns: NO_COLUMNS,
    expected: `mastodon/cache/media_attachments/files/${P18}/original/a.png`,
  },
  {
    name: "key prefix ending in '/' (double slash, as Mastodon makes it)",
    item: item('media_attachments', 'file', `media//media_attachments/files/${P18}/original/a.png`, true),
    columns: NO_COLUMNS,
    expected: `media//cache/media_attachments/files/${P18}/original/a.png`,
  },
  {
    name: 'key prefix, local row → null',
    item: item('media_attachments', 'file', `mastodon/media_attachments/files/${P9}/original/a.png`, false),
    columns: NO_COLUMNS,
    expected: null,
  },
];

describe('alternateKey', () => {
  for (const c of CASES) {
    test(c.name, () => {
      assert.equal(alternateKey(c.item, c.columns), c.expected);
    });
  }

  test('the two directions undo each other (remote, no column)', () => {
    const original = item('accounts', 'avatar', `accounts/avatars/${P18}/original/a.png`, true);
    const cached = alternateKey(original, NO_COLUMNS);
    assert.equal(cached, `cache/accounts/avatars/${P18}/original/a.png`);
    assert.equal(alternateKey({ ...original, key: cached! }, NO_COLUMNS), original.key);
  });

  // A key prefix that itself contains `<table>/` is mistaken for the start of the Mastodon key.
  const PREFIX_CASES: Case[] = [
    {
      name: 'key prefix equal to the table name, cache/ key',
      item: item('accounts', 'avatar', `accounts/cache/accounts/avatars/${P9}/original/a.png`, true),
      columns: ALL_COLUMNS,
      expected: `accounts/accounts/avatars/${P9}/original/a.png`,
    },
    {
      name: 'key prefix equal to the table name, remote, no column',
      item: item('accounts', 'avatar', `accounts/accounts/avatars/${P9}/original/a.png`, true),
      columns: NO_COLUMNS,
      expected: `accounts/cache/accounts/avatars/${P9}/original/a.png`,
    },
    {
      name: 'key prefix ending in the table name',
      item: item('accounts', 'header', `social-accounts/cache/accounts/headers/${P9}/original/h.png`, true),
      columns: ALL_COLUMNS,
      expected: `social-accounts/accounts/headers/${P9}/original/h.png`,
    },
  ];
  for (const c of PREFIX_CASES) {
    test(c.name, () => {
      assert.equal(alternateKey(c.item, c.columns), c.expected);
    });
  }
});

describe('alternateKey on keys the catalog computes', () => {
  const columnsOf = (row: Row) => new Set(Object.keys(row));

  test('remote media on schema version 1 (cache/): every style points back without cache/', () => {
    const row = mediaRow({
      id: '108361296738754794',
      file_file_name: '5785ab0a51d0db1f.gif',
      file_content_type: 'image/gif',
      file_storage_schema_version: 1,
      remote_url: 'https://remote.example/a.gif',
    });
    const keys = keysForRow('media_attachments', row);
    assert.ok(keys.length >= 2);
    for (const k of keys) {
      assert.ok(k.key.startsWith('cache/'), k.key);
      assert.equal(alternateKey(k, columnsOf(row)), k.key.slice('cache/'.length));
    }
  });

  test('remote media on 3.1 (no schema columns): every style points to cache/', () => {
    const row = mediaRow(
      {
        id: '21130559',
        file_file_name: 'bc84838f77991326.mp4',
        file_content_type: 'video/mp4',
        file_storage_schema_version: undefined,
        remote_url: 'https://remote.example/v.mp4',
      },
      '3.1',
    );
    const keys = keysForRow('media_attachments', row);
    assert.ok(keys.length >= 2);
    for (const k of keys) {
      assert.ok(!k.key.startsWith('cache/'), k.key);
      assert.equal(alternateKey(k, columnsOf(row)), `cache/${k.key}`);
    }
  });

  test('remote media on 4.6 with the version column NULL: no alternate', () => {
    const row = mediaRow({
      id: '5',
      file_file_name: 'a.png',
      file_content_type: 'image/png',
      remote_url: 'https://remote.example/a.png',
    });
    for (const k of keysForRow('media_attachments', row))
      assert.equal(alternateKey(k, columnsOf(row)), null, k.key);
  });

  test('local media and local accounts: no alternate', () => {
    const media = mediaRow({ id: '7', file_file_name: 'a.png', file_content_type: 'image/png' }, '3.1');
    for (const k of keysForRow('media_attachments', media))
      assert.equal(alternateKey(k, columnsOf(media)), null);
    const account = accountRow({ id: '9', avatar_file_name: 'a.gif', avatar_content_type: 'image/gif' });
    const keys = keysForRow('accounts', account);
    assert.ok(keys.length >= 2);
    for (const k of keys) assert.equal(alternateKey(k, columnsOf(account)), null);
  });

  test('preview cards on 4.6 with version 1: back to non-cache', () => {
    const row = previewCardRow({
      id: '3',
      image_file_name: 'c.jpg',
      image_content_type: 'image/jpeg',
      image_storage_schema_version: 1,
    });
    const [k] = keysForRow('preview_cards', row);
    assert.ok(k?.key.startsWith('cache/preview_cards/'));
    assert.equal(alternateKey(k!, columnsOf(row)), k!.key.slice('cache/'.length));
  });

  test('site uploads, backups and preview card providers: no alternate', () => {
    const rows: Array<[TableName, Row]> = [
      [
        'site_uploads',
        siteUploadRow({ id: '3', var: 'app_icon', file_file_name: 'i.png', file_content_type: 'image/png' }),
      ],
      [
        'backups',
        backupRow({ id: '4', dump_file_name: 'archive.zip', dump_content_type: 'application/zip' }),
      ],
      [
        'preview_card_providers',
        previewCardProviderRow({ id: '5', icon_file_name: 'i.png', icon_content_type: 'image/png' }),
      ],
    ];
    for (const [table, row] of rows) {
      const keys = keysForRow(table, row);
      assert.ok(keys.length >= 1, table);
      for (const k of keys) assert.equal(alternateKey(k, NO_COLUMNS), null, k.key);
    }
  });
});
