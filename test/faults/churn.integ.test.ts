/**
 * Source churn: objects and rows deleted while `sync` runs (Mastodon's own clean-up does this
 * on a live instance). They are reported as gone, never crash the run and never fail it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import {
  assertClean,
  describeRun,
  listBucket,
  parseSummary,
  readReport,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'CHURN-SRC-1', secretAccessKey: 'churn-src-Secret-1a' };
const DEST_KEYS = { accessKeyId: 'CHURN-DST-2', secretAccessKey: 'churn-dst-Secret-2b' };

const rows = fakeInstance({ media: 160, seed: 99 });
const keys = referencedKeys(rows);
const media = rows.media_attachments!;
/** The last 20 media rows lose their objects mid-run; the 10 before them lose their rows. */
const OBJECTS_GONE = new Set(media.slice(-20).map((m) => String(m['id'])));
const ROWS_GONE = media.slice(-30, -20).map((m) => String(m['id']));

let world: World;
let db: TestDatabase;
let source: S3Server;
let dest: S3Server;
let sourceClient: S3Client;
let destClient: S3Client;
let slow: RecordingProxy;

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_churn',
    source: { bucket: 'churn-source', keys: SOURCE_KEYS },
    dest: { buckets: ['churn-dest'], keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
  });
  ({ db, source, dest, sourceClient, destClient } = world);
  slow = await startProxy({ target: dest.endpoint, latencyMs: 25, record: false });
});

after(async () => {
  removeTempInis();
  await slow?.stop();
  await world?.stop();
});

describe('source churn', () => {
  it('objects and rows deleted mid-run are reported as gone; the run neither crashes nor fails', async () => {
    const ini = tempIni(
      s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, 'churn-source') +
        s3Section('destination', { endpoint: slow.endpoint, ...DEST_KEYS }, 'churn-dest') +
        db.iniSection(),
    );
    const report = `${ini}.report.ndjson`;
    // Small batches, so rows are read as the run goes (and rows deleted later are never read).
    const run = startCli(
      [
        'sync',
        'media_attachments',
        '--config',
        ini,
        '--json',
        '--no-progress',
        '--concurrency',
        '2',
        '--batch-size',
        '20',
        '--report',
        report,
      ],
      120_000,
    );
    // Once copying is under way, delete objects and rows further down the table.
    for (let i = 0; i < 400 && (await listBucket(destClient, 'churn-dest')).size < 10; i++) await sleep(25);
    const doomed = keys.filter((k) => k.table === 'media_attachments' && OBJECTS_GONE.has(k.id));
    await Promise.all(
      doomed.map((k) => sourceClient.send(new DeleteObjectCommand({ Bucket: 'churn-source', Key: k.key }))),
    );
    await db.client.query('DELETE FROM media_attachments WHERE id = ANY($1::bigint[])', [ROWS_GONE]);
    const result = await run.done;
    assertClean(result, [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS)]);
    assert.equal(result.code, 0, describeRun(result));
    const summary = parseSummary(result);
    assert.equal(summary.failed, 0);

    const copied = await listBucket(destClient, 'churn-dest');
    const lines = readReport(report);
    // Every key of a deleted object was either copied before it went, or reported missing.
    for (const k of doomed) {
      const reported = lines.find((l) => l.key === k.key);
      assert.ok(copied.has(k.key) || reported?.status === 'missing', `${k.key}: neither copied nor reported`);
    }
    assert.ok(
      lines.filter((l) => OBJECTS_GONE.has(l.id)).length > 0,
      'at least one object vanished before its copy (the test deletes them early enough)',
    );
    assert.ok(
      lines.every((l) => l.status === 'missing'),
      JSON.stringify(lines.slice(0, 3)),
    );
    // Everything else that still exists was copied.
    const mediaKeys = keys.filter((k) => k.table === 'media_attachments');
    const untouched = mediaKeys.filter((k) => !OBJECTS_GONE.has(k.id) && !ROWS_GONE.includes(k.id));
    for (const k of untouched) assert.ok(copied.has(k.key), `${k.key} not copied`);
    assert.equal(summary.missing, lines.length, 'every missing key is in the report');
  });
});
