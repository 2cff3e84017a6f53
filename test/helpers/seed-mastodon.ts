/**
 * Realistic Mastodon rows for the CLI integration tests, inserted through a writable client
 * into a database created by `createTestDatabase(era)`. Only columns the era's fixture has are
 * written (test/fixtures/mastodon-schema-*.sql); ids are passed as strings so 18-digit
 * snowflakes never go through a JS number.
 *
 * The expected keys are NOT computed here: test/cli/plan.integ.test.ts writes them out by hand
 * from the spec. Keep the two in step when a row changes.
 */
import type pg from 'pg';
import type { SchemaEra } from './pg.ts';

type Value = string | number | boolean | null;
type Row = Record<string, Value>;

function atLeast(era: SchemaEra, min: SchemaEra): boolean {
  const order: SchemaEra[] = ['3.1', '3.5', '4.0', '4.6'];
  return order.indexOf(era) >= order.indexOf(min);
}

/** Inserts one row; created_at/updated_at (NOT NULL in every table here) are set to now(). */
export async function insertRow(client: pg.Client, table: string, row: Row): Promise<void> {
  const columns = Object.keys(row);
  const params = columns.map((_, i) => `$${i + 1}`);
  const sql =
    `INSERT INTO ${table} (${[...columns, 'created_at', 'updated_at'].join(', ')}) ` +
    `VALUES (${[...params, 'now()', 'now()'].join(', ')})`;
  await client.query(sql, Object.values(row));
}

/** Row counts per table that `seedMastodon` inserts with an id > 0 (what `plan` reads). */
export function seededRowCounts(era: SchemaEra): Record<string, number> {
  const counts: Record<string, number> = {
    media_attachments: 16,
    accounts: atLeast(era, '3.5') ? 6 : 4,
    custom_emojis: 4,
    preview_cards: 4,
    site_uploads: 5,
    backups: 2,
  };
  if (atLeast(era, '3.5')) counts['preview_card_providers'] = 3;
  if (era !== '4.6') counts['imports'] = 3;
  return counts;
}

/**
 * Media rows. 3.1: sequence ids (media ids became snowflakes in 3.1.5). 3.5+: the two oldest
 * rows keep their sequence ids, the rest are snowflakes.
 */
function mediaRows(era: SchemaEra): Row[] {
  const modern = atLeast(era, '3.5');
  const id = (old: string, snowflake: string) => (modern ? snowflake : old);
  const remote = (path: string) => `https://remote.example/system/${path}`;
  const rows: Row[] = [
    // M1 local JPEG (schema 1 like every upload since 3.1.4; local: no cache/)
    {
      id: '22345792',
      file_file_name: '57859aede991da25.jpeg',
      file_content_type: 'image/jpeg',
      file_file_size: 123456,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M2 remote static GIF, schema 1 → cache/
    {
      id: id('22345793', '108361296738754794'),
      file_file_name: '5785ab0a51d0db1f.gif',
      file_content_type: 'image/gif',
      file_file_size: 2048,
      remote_url: remote('a.gif'),
      file_storage_schema_version: 1,
      type: 0,
    },
    // M3 remote gifv MP4, schema NULL (never upgraded) → no cache/
    {
      id: '21130559',
      file_file_name: 'bc84838f77991326.mp4',
      file_content_type: 'video/mp4',
      file_file_size: 99999,
      remote_url: remote('b.mp4'),
      file_storage_schema_version: null,
      type: 1,
    },
    // M4 local audio (original only); 3.5+: with cover art in the thumbnail attachment
    {
      id: id('22345794', '108366849347798302'),
      file_file_name: 'f00dfeedcafe0001.mp3',
      file_content_type: 'audio/mpeg',
      file_file_size: 3000000,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 4,
    },
    // M5 local WebM (unprocessed upload): small → png
    {
      id: id('22345795', '108366849347798303'),
      file_file_name: '0123456789abcdef.webm',
      file_content_type: 'video/webm',
      file_file_size: 777,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 2,
    },
    // M6 local HEIC: small → jpeg
    {
      id: id('22345796', '108366849347798304'),
      file_file_name: 'fedcba9876543210.heic',
      file_content_type: 'image/heic',
      file_file_size: 888,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M7 remote, download failed: NULL file name → no key
    {
      id: id('22345797', '108366849347798305'),
      file_file_name: null,
      file_content_type: null,
      file_file_size: null,
      remote_url: remote('c.png'),
      file_storage_schema_version: null,
      type: 3,
    },
    // M8 empty file name → no key
    {
      id: id('22345798', '108366849347798306'),
      file_file_name: '',
      file_content_type: 'image/png',
      file_file_size: null,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M9 remote video, schema 1; 3.5+: remote thumbnail (4.6: thumbnail schema 1 → cache/)
    {
      id: id('22345799', '108366849347798307'),
      file_file_name: 'aaaabbbbccccdddd.mp4',
      file_content_type: 'video/mp4',
      file_file_size: 5555,
      remote_url: remote('d.mp4'),
      file_storage_schema_version: 1,
      type: 2,
    },
    // M10 non-ASCII name with a space (kept verbatim)
    {
      id: id('22345800', '108366849347798308'),
      file_file_name: 'ünïcødé 画像.png',
      file_content_type: 'image/png',
      file_file_size: 10,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M11 name ending in a dot: small has no extension and no dot
    {
      id: id('22345801', '108366849347798309'),
      file_file_name: 'foo.',
      file_content_type: 'image/jpeg',
      file_file_size: 11,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M12 dot file: the leading dot never starts an extension
    {
      id: id('22345802', '108366849347798310'),
      file_file_name: '.hidden',
      file_content_type: 'image/png',
      file_file_size: 12,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M13 remote upper-case GIF name, schema NULL: small keeps the case, extension → png
    {
      id: id('22345803', '108366849347798311'),
      file_file_name: 'IMG_01.GIF',
      file_content_type: 'image/gif',
      file_file_size: 13,
      remote_url: remote('e.gif'),
      file_storage_schema_version: null,
      type: 0,
    },
    // M14 whitespace-only remote_url is blank: local, so no cache/ despite schema 1
    {
      id: id('22345804', '108366849347798312'),
      file_file_name: 'whitespace000001.webp',
      file_content_type: 'image/webp',
      file_file_size: 14,
      remote_url: '   ',
      file_storage_schema_version: 1,
      type: 0,
    },
    // M15 NULL content type: original only
    {
      id: id('22345805', '108366849347798313'),
      file_file_name: 'nocontenttype001.bin',
      file_content_type: null,
      file_file_size: 15,
      remote_url: '',
      file_storage_schema_version: 1,
      type: 3,
    },
    // M16 remote PNG schema 1; 3.5+: remote thumbnail whose 4.6 schema is NULL → no cache/
    {
      id: id('22345806', '108366849347798314'),
      file_file_name: 'abababababababab.png',
      file_content_type: 'image/png',
      file_file_size: 16,
      remote_url: remote('f.png'),
      file_storage_schema_version: 1,
      type: 0,
    },
  ];
  for (const row of rows) {
    row['processing'] = 2;
    row['file_meta'] = '{"original":{"width":1,"height":1}}';
  }
  if (modern) {
    const thumbnails: Record<string, Row> = {
      '108366849347798302': {
        thumbnail_file_name: 'c0ca0c0ca0c0ca01.png',
        thumbnail_content_type: 'image/png',
        thumbnail_file_size: 321,
        thumbnail_remote_url: null,
      },
      '108366849347798307': {
        thumbnail_file_name: 'eeeeffff00001111.jpeg',
        thumbnail_content_type: 'image/jpeg',
        thumbnail_file_size: 654,
        thumbnail_remote_url: remote('d-thumb.jpeg'),
      },
      '108366849347798314': {
        thumbnail_file_name: 'cdcdcdcdcdcdcdcd.png',
        thumbnail_content_type: 'image/png',
        thumbnail_file_size: 987,
        thumbnail_remote_url: remote('f-thumb.png'),
      },
    };
    for (const row of rows) {
      const thumbnail = thumbnails[String(row['id'])];
      if (thumbnail) Object.assign(row, thumbnail);
    }
    if (era === '4.6') {
      // Local cover art with schema 1 (still no cache/), remote thumbnail with schema 1
      // (cache/), remote thumbnail never upgraded (NULL, no cache/).
      for (const row of rows) {
        const version = { '108366849347798302': 1, '108366849347798307': 1 }[String(row['id'])];
        if (version !== undefined) row['thumbnail_storage_schema_version'] = version;
      }
    }
  }
  return rows;
}

function accountRows(era: SchemaEra): Row[] {
  const rows: Row[] = [
    // The instance actor. It has no avatar in practice; one is set here to prove that rows
    // with an id ≤ 0 are never read.
    {
      id: '-99',
      username: atLeast(era, '4.0') ? 'mastodon.internal' : 'localhost',
      domain: null,
      avatar_file_name: 'actor0000000000.png',
      avatar_content_type: 'image/png',
      avatar_storage_schema_version: 1,
      actor_type: 'Application',
    },
    // Local admin: schema 1 on both, local → no cache/
    {
      id: '1',
      username: 'admin',
      domain: null,
      avatar_file_name: 'dbcfe99ed5def0f0.png',
      avatar_content_type: 'image/png',
      avatar_file_size: 4096,
      avatar_storage_schema_version: 1,
      header_file_name: 'c0ffee0000000001.jpeg',
      header_content_type: 'image/jpeg',
      header_file_size: 8192,
      header_storage_schema_version: 1,
    },
    // Remote account without any image (NULL and empty names)
    {
      id: '5',
      username: 'noimages',
      domain: 'remote.example',
      avatar_file_name: null,
      header_file_name: '',
    },
    // Remote, never upgraded (schema NULL): no cache/; empty header
    {
      id: '23634',
      username: 'oldtimer',
      domain: 'remote.example',
      avatar_file_name: '6ca8804dc46800ad.png',
      avatar_content_type: 'image/png',
      avatar_file_size: 1111,
      avatar_remote_url: 'https://remote.example/avatar.png',
      avatar_storage_schema_version: null,
      header_file_name: '',
      header_storage_schema_version: null,
    },
    // Remote, GIF avatar schema 1 (cache/) and GIF header schema NULL (no cache/): each
    // attachment decides on its own; both get a static png
    {
      id: '464472',
      username: 'gifs',
      domain: 'other.example',
      avatar_file_name: '2e94bd33745f86a6.gif',
      avatar_content_type: 'image/gif',
      avatar_file_size: 2222,
      avatar_remote_url: 'https://other.example/a.gif',
      avatar_storage_schema_version: 1,
      header_file_name: '9f8e7d6c5b4a3928.gif',
      header_content_type: 'image/gif',
      header_file_size: 3333,
      header_remote_url: 'https://other.example/h.gif',
      header_storage_schema_version: null,
    },
  ];
  if (atLeast(era, '3.5')) {
    rows.push(
      // Local 18-digit snowflake (accounts became snowflakes in 3.4)
      {
        id: '108366849347798387',
        username: 'snowflake',
        domain: null,
        avatar_file_name: 'dbcfe99ed5def0f4.png',
        avatar_content_type: 'image/png',
        avatar_file_size: 4444,
        avatar_storage_schema_version: 1,
      },
      // Remote snowflake, schema 1 → cache/
      {
        id: '108366849347798390',
        username: 'remoteflake',
        domain: 'remote.example',
        avatar_file_name: '0a1b2c3d4e5f6071.jpeg',
        avatar_content_type: 'image/jpeg',
        avatar_file_size: 5555,
        avatar_remote_url: 'https://remote.example/r.jpeg',
        avatar_storage_schema_version: 1,
      },
    );
  }
  return rows;
}

const CUSTOM_EMOJIS: Row[] = [
  {
    id: '28691',
    shortcode: 'local_blob',
    domain: null,
    image_file_name: '6de008d6281f4f59.png',
    image_content_type: 'image/png',
    image_file_size: 100,
    image_storage_schema_version: 1,
  },
  {
    id: '28692',
    shortcode: 'remote_gif',
    domain: 'remote.example',
    image_file_name: 'a0b1c2d3e4f5a6b7.gif',
    image_content_type: 'image/gif',
    image_file_size: 200,
    image_remote_url: 'https://remote.example/e.gif',
    image_storage_schema_version: 1,
  },
  {
    id: '28693',
    shortcode: 'remote_old',
    domain: 'remote.example',
    image_file_name: 'ffeeddccbbaa9988.png',
    image_content_type: 'image/png',
    image_file_size: 300,
    image_remote_url: 'https://remote.example/o.png',
    image_storage_schema_version: null,
  },
  // A pre-3.1 local upload keeps its own name
  {
    id: '28694',
    shortcode: 'blobaww',
    domain: null,
    image_file_name: 'blobaww.png',
    image_content_type: 'image/png',
    image_file_size: 400,
    image_storage_schema_version: null,
  },
];

const PREVIEW_CARDS: Row[] = [
  {
    id: '45027478',
    url: 'https://news.example/a',
    image_file_name: '0783d5e91a14fd49.jpeg',
    image_content_type: 'image/jpeg',
    image_file_size: 34567,
    image_storage_schema_version: 1,
  },
  {
    id: '45027479',
    url: 'https://news.example/b',
    image_file_name: '1234abcd5678ef90.gif',
    image_content_type: 'image/gif',
    image_file_size: 45678,
    image_storage_schema_version: null,
  },
  {
    id: '45027480',
    url: 'https://news.example/c',
    image_file_name: 'abcdef0123456789.gif',
    image_content_type: 'image/gif',
    image_file_size: 56789,
    image_storage_schema_version: 1,
  },
  { id: '45027481', url: 'https://news.example/d', image_file_name: null },
];

const PREVIEW_CARD_PROVIDERS: Row[] = [
  {
    id: '1',
    domain: 'news.example',
    icon_file_name: 'a1a2a3a4a5a6a7a8.png',
    icon_content_type: 'image/png',
    icon_file_size: '1234',
  },
  {
    id: '2',
    domain: 'blog.example',
    icon_file_name: 'f0e1d2c3b4a59687.ico',
    icon_content_type: 'image/vnd.microsoft.icon',
    icon_file_size: '567',
  },
  { id: '3', domain: 'noicon.example', icon_file_name: null },
];

function siteUploadRows(era: SchemaEra): Row[] {
  const rows: Row[] = [
    {
      id: '1',
      var: 'thumbnail',
      file_file_name: '57c12f441d083cde.jpeg',
      file_content_type: 'image/jpeg',
      file_file_size: 50000,
    },
    {
      id: '2',
      var: 'favicon',
      file_file_name: 'b2c3d4e5f6a7b8c9.png',
      file_content_type: 'image/png',
      file_file_size: 2000,
    },
    {
      id: '3',
      var: 'app_icon',
      file_file_name: 'accf17b0104f18e5.png',
      file_content_type: 'image/png',
      file_file_size: 3000,
    },
    {
      id: '4',
      var: 'mascot',
      file_file_name: 'mascot.png',
      file_content_type: 'image/png',
      file_file_size: 4000,
    },
    {
      id: '5',
      var: 'hero',
      file_file_name: 'hero_image.jpg',
      file_content_type: 'image/jpeg',
      file_file_size: 5000,
    },
  ];
  if (era === '4.6') rows[0]!['blurhash'] = 'UBL_:rOpGG-;~qRjWBay_3WBj[WB';
  return rows;
}

const BACKUPS: Row[] = [
  {
    id: '1',
    user_id: '1',
    dump_file_name: 'archive-20230101120000-0123456789abcdef0123456789abcdef.zip',
    dump_content_type: 'application/zip',
    dump_file_size: '5000000000', // bigint: larger than 2^31
    processed: true,
  },
  { id: '2', user_id: '1', dump_file_name: null, processed: false },
];

const IMPORTS: Row[] = [
  {
    id: '1',
    type: 0,
    account_id: '1',
    data_file_name: 'following_accounts.csv',
    data_content_type: 'text/csv',
    data_file_size: 120,
  },
  {
    id: '2',
    type: 1,
    account_id: '1',
    data_file_name: 'blocked_accounts.csv',
    data_content_type: 'text/csv',
    data_file_size: 60,
  },
  { id: '3', type: 2, account_id: '1', data_file_name: null },
];

/** Inserts the whole realistic data set for an era (every table the era has). */
export async function seedMastodon(client: pg.Client, era: SchemaEra): Promise<void> {
  for (const row of mediaRows(era)) await insertRow(client, 'media_attachments', row);
  for (const row of accountRows(era)) await insertRow(client, 'accounts', row);
  for (const row of CUSTOM_EMOJIS) await insertRow(client, 'custom_emojis', row);
  for (const row of PREVIEW_CARDS) await insertRow(client, 'preview_cards', row);
  if (atLeast(era, '3.5')) {
    for (const row of PREVIEW_CARD_PROVIDERS) await insertRow(client, 'preview_card_providers', row);
  }
  for (const row of siteUploadRows(era)) await insertRow(client, 'site_uploads', row);
  for (const row of BACKUPS) await insertRow(client, 'backups', row);
  if (era !== '4.6') for (const row of IMPORTS) await insertRow(client, 'imports', row);
}

/**
 * `count` local JPEG media rows with snowflake-sized ids (108000000000000000 + 7·n), in one
 * statement. Returns nothing: read the ids back with SQL when needed.
 */
export async function seedBulkMedia(client: pg.Client, count: number): Promise<void> {
  await client.query(
    `INSERT INTO media_attachments (id, file_file_name, file_content_type, file_file_size,
       remote_url, file_storage_schema_version, type, processing, created_at, updated_at)
     SELECT 108000000000000000 + 7 * g, lpad(to_hex(g), 16, '0') || '.jpeg', 'image/jpeg', g,
       '', 1, 0, 2, now(), now()
     FROM generate_series(1, $1::int) AS g`,
    [count],
  );
}
