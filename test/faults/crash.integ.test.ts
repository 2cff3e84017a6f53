/**
 * Crash recovery: `sync` killed with SIGKILL at 10 random moments, then run to the end.
 * Afterwards every object is byte-identical; no object was written twice once complete; every
 * multipart upload a killed run left open was aborted by a later run (from its upload journal);
 * and with a filesystem destination no temporary file is left.
 *
 * The S3 destination sits behind a recording proxy that adds 10 ms and forwards each request
 * only once its body arrived, as S3 commits only whole objects (s3rver alone would keep the
 * half of an upload that a killed process sent). s3rver cannot list or abort multipart uploads
 * (NotImplemented / MethodNotAllowed), so "aborted" is checked as the abort requests the tool
 * sent for exactly the uploads left open.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { type FakeRows, fakeInstance, prng, referencedKeys } from '../../dev/fake-instance.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  describeRun,
  fetchAll,
  fsSection,
  listBucket,
  md5,
  parsePath,
  parseSummary,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'CRASH-SRC-1', secretAccessKey: 'crash-src-Secret-9z' };
const DEST_KEYS = { accessKeyId: 'CRASH-DST-2', secretAccessKey: 'crash-dst-Secret-8y' };
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)];
const MB = 1024 * 1024;

const base = fakeInstance({ media: 60, seed: 7 });
/** Four 12 MB audio files: multipart uploads (threshold and parts of 5 MB). */
const big = Array.from({ length: 4 }, (_, i) => ({
  id: String(41_000_000 + i),
  type: 4,
  file_file_name: `${String(i).padStart(16, 'b')}.mp3`,
  file_content_type: 'audio/mpeg',
  file_file_size: 12 * MB,
  remote_url: '',
}));
const rows: FakeRows = { ...base, media_attachments: [...base.media_attachments!, ...big] };
const keys = referencedKeys(rows);
const BIG_KEYS = new Set(keys.filter((k) => big.some((b) => b.id === k.id)).map((k) => k.key));
const BYTES = new Map(
  keys.map((k) => [k.key, BIG_KEYS.has(k.key) ? uniqueBytes(k, 12 * MB) : uniqueBytes(k, 20_000)]),
);

let world: World;
let db: TestDatabase;
let source: S3Server;
let destClient: S3Client;
let proxy: RecordingProxy;

function config(destSection: string): string {
  return tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, 'crash-source') +
      destSection +
      db.iniSection() +
      '[sync]\nmultipart_threshold = 5MB\npart_size = 5MB\n',
  );
}

/** Starts sync, kills it with SIGKILL after a random moment; 10 times; then runs it to the end. */
async function killTenTimesThenFinish(ini: string, seed: number) {
  const random = prng(seed);
  const args = [
    'sync',
    '--config',
    ini,
    '--json',
    '--no-progress',
    '--concurrency',
    '4',
    '--log-level',
    'warn',
  ];
  for (let i = 0; i < 10; i++) {
    const seen = proxy.requests.length;
    const run = startCli(args, 60_000);
    if (i % 3 === 0) {
      // Every third kill lands while a multipart upload is open (as soon as its first part is
      // on the way), as long as big objects remain to be copied.
      for (let t = 0; t < 150; t++) {
        if (proxy.requests.slice(seen).some((r) => r.method === 'PUT' && r.path.includes('partNumber=')))
          break;
        await sleep(20);
      }
    } else await sleep(600 + Math.floor(random() * 2400));
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assertClean(killed, SECRETS);
  }
  await sleep(300);
  const final = startCli(args, 240_000);
  const result = await final.done;
  assertClean(result, SECRETS);
  assert.equal(result.code, 0, describeRun(result));
  return parseSummary(result);
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_crash',
    source: { bucket: 'crash-source', keys: SOURCE_KEYS },
    dest: { buckets: ['crash-dest'], keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: BYTES.get(k.key)!, contentType: k.contentType })),
    destProxy: { latencyMs: 10, storeAndForward: true },
  });
  ({ db, source, destClient } = world);
  proxy = world.destProxy!;
});

after(async () => {
  removeTempInis();
  await world?.stop();
});

describe('crash recovery', () => {
  it('S3 destination: 10 SIGKILLs, then everything exact, nothing written twice, leftover uploads aborted', async () => {
    const summary = await killTenTimesThenFinish(
      config(s3Section('destination', { endpoint: proxy.endpoint, ...DEST_KEYS }, 'crash-dest')),
      7,
    );
    assert.equal(summary.failed, 0);

    const listed = await listBucket(destClient, 'crash-dest');
    assert.deepEqual([...listed.keys()].sort(), keys.map((k) => k.key).sort());
    const fetched = await fetchAll(
      destClient,
      'crash-dest',
      keys.map((k) => k.key),
    );
    assert.deepEqual(
      keys.filter((k) => fetched.get(k.key)!.md5 !== md5(BYTES.get(k.key)!)).map((k) => k.key),
      [],
      'every object byte-identical',
    );

    // Complete writes per key: a whole-object PUT answered 200, or a multipart completion.
    const complete = new Map<string, number>();
    const uploads = new Map<string, string>(); // uploadId → key, from the part uploads seen
    const completed = new Set<string>();
    const abortRequested = new Set<string>();
    for (const r of proxy.requests) {
      const { key, query } = parsePath(r.path);
      const uploadId = /(?:^|&)uploadId=([^&]+)/.exec(query)?.[1];
      if (r.method === 'PUT' && uploadId && query.includes('partNumber='))
        uploads.set(decodeURIComponent(uploadId), key);
      if (r.method === 'POST' && uploadId && r.status === 200) {
        completed.add(decodeURIComponent(uploadId));
        complete.set(key, (complete.get(key) ?? 0) + 1);
      }
      if (r.method === 'DELETE' && uploadId) abortRequested.add(decodeURIComponent(uploadId));
      if (r.method === 'PUT' && !uploadId && key && r.status === 200)
        complete.set(key, (complete.get(key) ?? 0) + 1);
    }
    const twice = [...complete].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual(twice, [], 'no object written again once complete');
    assert.ok(uploads.size > 0, 'multipart uploads happened');
    const leftOpen = [...uploads.keys()].filter((id) => !completed.has(id) && !abortRequested.has(id));
    assert.deepEqual(leftOpen, [], 'every multipart upload left open by a killed run was aborted later');
  });

  it('filesystem destination: 10 SIGKILLs, then everything exact and no temporary file left', async () => {
    const root = mkdtempSync(join(tmpdir(), 'msst-crash-fs-'));
    try {
      const summary = await killTenTimesThenFinish(config(fsSection('destination', root)), 8);
      assert.equal(summary.failed, 0);
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else files.push(relative(root, path));
        }
      };
      walk(root);
      assert.deepEqual(
        files.filter((f) => f.includes('.msst-tmp')),
        [],
        'no temporary file left',
      );
      assert.deepEqual(files.sort(), keys.map((k) => k.key).sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
