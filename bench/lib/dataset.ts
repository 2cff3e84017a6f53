/**
 * The benchmark data set shared by `npm run bench` and `npm run bench:distributed`: a fake
 * Mastodon instance in a throwaway PostgreSQL database and its objects, sized like a real
 * bucket (mostly 20–300 KB images and small previews, some 1–10 MB videos and audio, a few
 * 20–40 MB), in a source s3rver.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type FakeRows,
  fakeInstance,
  insertStatements,
  prng,
  referencedKeys,
} from '../../dev/fake-instance.ts';
import { rawClient, type S3Server } from '../../dev/s3.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/pg.ts';

const MB = 1024 * 1024;

/** Sizes like a Mastodon bucket, deterministic per key. */
export function sizeOf(key: CatalogKey, random: () => number): number {
  const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));
  if (key.style !== 'original') return between(8 * 1024, 60 * 1024);
  if (key.contentType === 'video/mp4')
    return random() < 0.02 ? between(20 * MB, 40 * MB) : between(1 * MB, 10 * MB);
  if (key.contentType === 'audio/mpeg') return between(1 * MB, 5 * MB);
  return between(20 * 1024, 300 * 1024);
}

export async function seedDatabase(rows: FakeRows, prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase('4.6', prefix);
  for (const statement of insertStatements(rows)) await db.client.query(statement.text, statement.values);
  await db.client.query('ANALYZE');
  return db;
}

export async function seedObjects(
  server: S3Server,
  bucket: string,
  keys: Array<{ key: string; size: number }>,
  /** Write through another endpoint (a proxy) with these headers: how another tool left a bucket. */
  as: { endpoint?: string; contentType?: string; acl?: 'public-read' } = {},
): Promise<void> {
  const client = rawClient(as.endpoint ? { ...server, endpoint: as.endpoint } : server);
  const pool = randomBytes(48 * MB);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const { key, size } = keys[next++]!;
      let body: Buffer;
      if (size <= pool.length) {
        const offset = Math.floor(Math.random() * (pool.length - size));
        body = pool.subarray(offset, offset + size);
      } else {
        body = Buffer.concat(Array.from({ length: Math.ceil(size / pool.length) }, () => pool)).subarray(
          0,
          size,
        );
      }
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ...(as.contentType ? { ContentType: as.contentType } : {}),
          ...(as.acl ? { ACL: as.acl } : {}),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  client.destroy();
}

export function mainDataset(objects: number): {
  rows: FakeRows;
  keys: Array<{ key: string; size: number; contentType: string }>;
} {
  // About 1.75 keys per media row (original + small, some thumbnails); other tables add ~15%.
  const rows = fakeInstance({ media: Math.max(10, Math.round(objects / 2.0)), seed: 42 });
  const random = prng(4242);
  const keys = referencedKeys(rows).map((k) => ({
    key: k.key,
    size: sizeOf(k, random),
    contentType: k.contentType,
  }));
  return { rows, keys };
}

/**
 * The small objects most of a Mastodon bucket is made of (thumbnails, avatars, emojis):
 * the same keys as the mix, every one 5–40 KB — where CPU per object decides throughput.
 */
export function thumbnailDataset(objects: number): {
  rows: FakeRows;
  keys: Array<{ key: string; size: number; contentType: string }>;
} {
  const rows = fakeInstance({ media: Math.max(10, Math.round(objects / 2.0)), seed: 4343 });
  const random = prng(434343);
  const keys = referencedKeys(rows).map((k) => ({
    key: k.key,
    size: Math.round(5 * 1024 + random() * 35 * 1024),
    contentType: k.contentType,
  }));
  return { rows, keys };
}

export function memoryDataset(
  count: number,
  mb: number,
): { rows: FakeRows; keys: Array<{ key: string; size: number }> } {
  // Audio rows reference only their original: one 100 MB object per row.
  const rows: FakeRows = {
    media_attachments: Array.from({ length: count }, (_, i) => ({
      id: String(1000 + i),
      type: 4,
      file_file_name: `${String(i).padStart(16, '0')}.mp3`,
      file_content_type: 'audio/mpeg',
      file_file_size: mb * MB,
      remote_url: '',
    })),
  };
  return { rows, keys: referencedKeys(rows).map((k) => ({ key: k.key, size: mb * MB })) };
}

export function iniFor(
  db: TestDatabase,
  source: string,
  dest: string,
  sourceBucket: string,
  destBucket: string,
  servers: [S3Server, S3Server],
) {
  return `[s3.source]
access_key = ${servers[0].accessKeyId}
secret_key = ${servers[0].secretAccessKey}
endpoint_url = ${source}
bucket = ${sourceBucket}

[s3.destination]
access_key = ${servers[1].accessKeyId}
secret_key = ${servers[1].secretAccessKey}
endpoint_url = ${dest}
bucket = ${destBucket}

${db.iniSection()}
`;
}
