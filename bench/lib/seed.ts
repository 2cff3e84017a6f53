/**
 * Server-side seeding of `media_attachments` for benchmarks: one `INSERT ... SELECT FROM
 * generate_series` per range, no rows built in JavaScript. Every value is derived from the
 * row number with `hashint8extended(i, seed)`, so a range seeds the same rows every time and
 * ranges can be added one after another (1..100k, then 100k+1..1M).
 *
 * The mix (per mille of rows, independent draws):
 * - 600 remote (`remote_url` set; `file_storage_schema_version` 1 for 85 %, else NULL),
 *   400 local (version 1 for 80 %, else NULL: uploads from before Mastodon 3.2);
 * - content: 450 image/jpeg, 200 image/png, 80 image/webp, 80 video/mp4 gifv, 70 video/mp4
 *   video, 50 image/gif, 60 audio/mpeg, 10 no file at all (NULL name, type and size);
 * - a thumbnail (custom preview) on a third of the videos, gifvs and audios;
 * - 18-digit snowflake ids, 16-hex-character file names, sizes from 20 KB to 10 MB.
 */
import type pg from 'pg';

/** Snowflake-like ids: 18 digits, increasing with the row number, never colliding. */
export const ID_SQL = `(108000000000000000 + i * 65536 + (i % 65536))`;

/** A stable pseudo-random number in [0, 1000) for row `i`, one independent stream per seed. */
const draw = (seed: number): string => `(abs(hashint8extended(i, ${seed})) % 1000)`;

const SEED_SQL = `
INSERT INTO media_attachments (
  id, account_id, status_id, type, created_at, updated_at, blurhash, description, remote_url,
  file_file_name, file_content_type, file_file_size, file_updated_at, file_meta, file_storage_schema_version,
  thumbnail_file_name, thumbnail_content_type, thumbnail_file_size, thumbnail_updated_at,
  thumbnail_storage_schema_version
)
SELECT
  id, account_id, status_id, kind, created_at, created_at, blurhash, description,
  CASE WHEN remote THEN 'https://files.instance' || (i % 997) || '.example/media_attachments/files/'
    || hex || '/original/' || hex || ext ELSE '' END,
  CASE WHEN has_file THEN hex || ext END,
  content_type,
  CASE WHEN has_file THEN 20480 + abs(hashint8extended(i, 5)) % (10 * 1024 * 1024 - 20480) END,
  CASE WHEN has_file THEN created_at END,
  CASE WHEN has_file THEN json_build_object(
    'original', json_build_object('width', 1280, 'height', 960, 'size', '1280x960', 'aspect', 1.3333),
    'small', json_build_object('width', 640, 'height', 480, 'size', '640x480', 'aspect', 1.3333)) END,
  CASE WHEN NOT has_file THEN NULL
    WHEN remote THEN CASE WHEN ${draw(6)} < 850 THEN 1 END
    ELSE CASE WHEN ${draw(6)} < 800 THEN 1 END END,
  CASE WHEN has_thumb THEN substr(hex, 9, 8) || substr(hex, 1, 8) || '.jpeg' END,
  CASE WHEN has_thumb THEN 'image/jpeg' END,
  CASE WHEN has_thumb THEN 10240 + abs(hashint8extended(i, 7)) % 204800 END,
  CASE WHEN has_thumb THEN created_at END,
  CASE WHEN has_thumb AND remote THEN 1 END
FROM (
  SELECT
    i,
    ${ID_SQL} AS id,
    1 + abs(hashint8extended(i, 8)) % 50000 AS account_id,
    108000000000000000 + abs(hashint8extended(i, 9)) % 1000000000000 AS status_id,
    ${draw(1)} < 600 AS remote,
    content_type,
    ext,
    kind,
    content_type IS NOT NULL AS has_file,
    content_type IN ('video/mp4', 'audio/mpeg') AND ${draw(3)} < 333 AS has_thumb,
    substr(md5(i::text), 1, 16) AS hex,
    timestamp '2022-11-01' + i * interval '1 second' AS created_at,
    'UFA,kpxu~qj[ofayj[fQ00WB9Fay' AS blurhash,
    CASE WHEN ${draw(4)} < 300 THEN 'A description of the picture, as people write them.' END AS description
  FROM (
    SELECT
      i,
      CASE WHEN r < 450 THEN 'image/jpeg' WHEN r < 650 THEN 'image/png' WHEN r < 730 THEN 'image/webp'
        WHEN r < 880 THEN 'video/mp4' WHEN r < 930 THEN 'image/gif' WHEN r < 990 THEN 'audio/mpeg' END
        AS content_type,
      CASE WHEN r < 450 THEN '.jpg' WHEN r < 650 THEN '.png' WHEN r < 730 THEN '.webp'
        WHEN r < 880 THEN '.mp4' WHEN r < 930 THEN '.gif' WHEN r < 990 THEN '.mp3' ELSE '' END AS ext,
      -- Mastodon's enum: image 0, gifv 1, video 2, audio 4.
      CASE WHEN r < 730 THEN 0 WHEN r < 810 THEN 1 WHEN r < 880 THEN 2 WHEN r < 930 THEN 0 ELSE 4 END AS kind
    FROM (SELECT i, ${draw(2)} AS r FROM generate_series($1::bigint, $2::bigint) AS i) AS g
  ) AS c
) AS s`;

/** Inserts rows number `from`..`to` (inclusive), then VACUUM ANALYZE as a live database would be. */
export async function seedMediaAttachments(client: pg.Client, from: number, to: number): Promise<void> {
  await client.query('SET synchronous_commit = off');
  await client.query(SEED_SQL, [from, to]);
  await client.query('VACUUM (ANALYZE) media_attachments');
}

/**
 * The keys `plan media_attachments` must list, computed in SQL from the catalog's rules:
 * each non-empty file name is `original` plus one style when the content type has a style
 * set (§5.1), each non-empty thumbnail name one key.
 */
export async function expectedMediaKeys(client: pg.Client): Promise<{ rows: number; keys: number }> {
  const { rows } = await client.query<{ rows: string; keys: string }>(`
    SELECT count(*)::text AS rows, coalesce(sum(
      CASE WHEN coalesce(file_file_name, '') <> '' THEN
        1 + CASE WHEN file_content_type IN ('image/gif', 'video/webm', 'video/quicktime', 'image/heic',
          'image/heif', 'image/avif', 'image/jpeg', 'image/png', 'image/webp', 'video/mp4', 'video/ogg')
          THEN 1 ELSE 0 END
      ELSE 0 END
      + CASE WHEN coalesce(thumbnail_file_name, '') <> '' THEN 1 ELSE 0 END), 0)::text AS keys
    FROM media_attachments WHERE id > 0`);
  return { rows: Number(rows[0]!.rows), keys: Number(rows[0]!.keys) };
}

/** The row mix actually seeded, for the report. */
export async function describeMix(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ label: string; n: string }>(`
    SELECT label, n::text FROM (
      SELECT 'remote' AS label, count(*) FILTER (WHERE remote_url <> '') AS n, 1 AS o FROM media_attachments
      UNION ALL SELECT 'local', count(*) FILTER (WHERE remote_url = ''), 2 FROM media_attachments
      UNION ALL SELECT 'cache/ (remote, schema v1)',
        count(*) FILTER (WHERE remote_url <> '' AND file_storage_schema_version = 1), 3 FROM media_attachments
      UNION ALL SELECT coalesce(file_content_type, 'no file') || ' (type ' || type || ')', count(*), 4
        FROM media_attachments GROUP BY file_content_type, type
      UNION ALL SELECT 'thumbnails', count(thumbnail_file_name), 5 FROM media_attachments
    ) AS m ORDER BY o, n DESC`);
  return rows.map((r) => `${r.label}: ${r.n}`).join(', ');
}
