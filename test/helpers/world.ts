/**
 * The setting most integration tests start from: a throwaway Mastodon 4.6 database holding
 * `rows`, a source s3rver holding `objects`, a destination s3rver with its own credentials
 * (so no server-side copy), and a raw SDK client for each (never the tool's own store code).
 *
 *   const world = await startWorld({
 *     dbPrefix: 'msst_x',
 *     source: { bucket: 'x-source', keys: SOURCE_KEYS, extraBuckets: ['x-same-account'] },
 *     dest: { buckets: ['x-dest'], keys: DEST_KEYS },
 *     rows,
 *     objects,
 *     destProxy: { latencyMs: 25, record: false }, // world.destProxy, in front of world.dest
 *   });
 *   … world.stop() in after(): stops the proxy, the clients, both servers; drops the database.
 *
 * If starting fails part-way, whatever had started is stopped before the error is thrown.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { FakeRows } from '../../dev/fake-instance.ts';
import { type ProxyOptions, type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
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
  /** The proxy in front of `dest`, when `destProxy` was given. */
  destProxy?: RecordingProxy;
  stop(): Promise<void>;
}

export interface WorldOptions {
  dbPrefix: string;
  source: {
    /** Where `objects` are put. */
    bucket: string;
    keys: KeyPair;
    /** More buckets on the source server (one account with `bucket`: server-side copies work). */
    extraBuckets?: readonly string[];
  };
  dest: { buckets: readonly string[]; keys: KeyPair };
  /** Seeded into the database (nothing when absent). */
  rows?: FakeRows;
  /** Put into the source bucket (nothing when absent). */
  objects?: readonly SeedObject[];
  /** Start a recording proxy in front of the destination server (world.destProxy) with these options. */
  destProxy?: Omit<ProxyOptions, 'target'>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  // Filled in as each part starts, so that stop() ends exactly what is running.
  let db: TestDatabase | undefined;
  let source: S3Server | undefined;
  let dest: S3Server | undefined;
  let sourceClient: S3Client | undefined;
  let destClient: S3Client | undefined;
  let destProxy: RecordingProxy | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await destProxy?.stop();
    sourceClient?.destroy();
    destClient?.destroy();
    await Promise.all([db?.drop(), source?.stop(), dest?.stop()]);
  };
  try {
    await allStarted([
      createTestDatabase('4.6', options.dbPrefix).then((d) => {
        db = d;
      }),
      startS3Server({
        buckets: [options.source.bucket, ...(options.source.extraBuckets ?? [])],
        ...options.source.keys,
      }).then((s) => {
        source = s;
      }),
      startS3Server({ buckets: [...options.dest.buckets], ...options.dest.keys }).then((s) => {
        dest = s;
      }),
    ]);
    sourceClient = s3Client({ endpoint: source!.endpoint, ...options.source.keys });
    destClient = s3Client({ endpoint: dest!.endpoint, ...options.dest.keys });
    await allStarted([
      options.destProxy
        ? startProxy({ ...options.destProxy, target: dest!.endpoint }).then((p) => {
            destProxy = p;
          })
        : undefined,
      options.rows ? seedDatabase(db!, options.rows) : undefined,
      options.objects ? putObjects(sourceClient, options.source.bucket, options.objects) : undefined,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    db: db!,
    source: source!,
    dest: dest!,
    sourceClient,
    destClient,
    ...(destProxy ? { destProxy } : {}),
    stop,
  };
}

/** Waits for every step to settle (none is left running unseen), then throws the first failure. */
async function allStarted(steps: ReadonlyArray<Promise<void> | undefined>): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
