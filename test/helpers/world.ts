/**
 * The setting most integration tests start from: a throwaway Mastodon 4.6 database holding
 * `rows`, a source s3rver holding `objects`, a destination s3rver with its own credentials
 * (so no server-side copy), and a raw SDK client for each (never the tool's own store code).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { FakeRows } from '../../dev/fake-instance.ts';
import { type S3Server, startS3Server } from '../../dev/s3.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';
import { putObjects, type SeedObject, s3Client, seedDatabase } from './sync-env.ts';

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface World {
  db: TestDatabase;
  source: S3Server;
  dest: S3Server;
  sourceClient: S3Client;
  destClient: S3Client;
  stop(): Promise<void>;
}

export async function startWorld(options: {
  dbPrefix: string;
  source: { bucket: string; keys: KeyPair };
  dest: { buckets: string[]; keys: KeyPair };
  rows: FakeRows;
  objects: readonly SeedObject[];
}): Promise<World> {
  const [db, source, dest] = await Promise.all([
    createTestDatabase('4.6', options.dbPrefix),
    startS3Server({ buckets: [options.source.bucket], ...options.source.keys }),
    startS3Server({ buckets: options.dest.buckets, ...options.dest.keys }),
  ]);
  const sourceClient = s3Client({ endpoint: source.endpoint, ...options.source.keys });
  const destClient = s3Client({ endpoint: dest.endpoint, ...options.dest.keys });
  await Promise.all([
    seedDatabase(db, options.rows),
    putObjects(sourceClient, options.source.bucket, options.objects),
  ]);
  return {
    db,
    source,
    dest,
    sourceClient,
    destClient,
    async stop() {
      sourceClient.destroy();
      destClient.destroy();
      await Promise.all([db.drop(), source.stop(), dest.stop()]);
    },
  };
}
