/**
 * `npm run demo`: the main job on embedded services, on a fresh clone with nothing installed.
 *
 * 1. An embedded PostgreSQL (PGlite on a loopback port) holding a small fake Mastodon 4.6
 *    instance: every table, local and remote records, old ids and snowflakes, storage-schema
 *    versions NULL and 1.
 * 2. Two embedded S3 servers (s3rver): the source bucket holding the referenced objects (real
 *    JPEG/PNG/GIF/WebP/MP4/MP3 bytes), and an empty destination bucket with other credentials.
 * 3. `mastodon-s3-sync sync` copies everything (live progress), then runs again: all skipped.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.ts';
import { fakeInstance, insertStatements, referencedKeys, sampleBytes } from '../dev/fake-instance.ts';
import { rawClient, startS3Server } from '../dev/s3.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'mastodon-s3-sync');
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'msst-demo-'));
  say('starting embedded PostgreSQL (PGlite) and two S3 servers (s3rver) on 127.0.0.1');
  const [pg, source, destination] = await Promise.all([
    startEmbeddedPostgres(),
    startS3Server({
      buckets: ['mastodon-old'],
      accessKeyId: 'DEMO-SOURCE-KEY',
      secretAccessKey: 'demo-source-secret',
    }),
    startS3Server({
      buckets: ['mastodon-new'],
      accessKeyId: 'DEMO-DEST-KEY',
      secretAccessKey: 'demo-destination-secret',
    }),
  ]);
  try {
    const rows = fakeInstance({ media: 150, seed: 7 });
    await pg.db.exec(readFileSync(join(ROOT, 'test', 'fixtures', 'mastodon-schema-4.6.sql'), 'utf8'));
    for (const statement of insertStatements(rows)) await pg.db.query(statement.text, statement.values);
    const counts = Object.entries(rows).map(([table, list]) => `${table} ${list.length}`);
    console.log(`fake Mastodon 4.6 instance: ${counts.join(', ')} rows`);

    const keys = referencedKeys(rows);
    // Three referenced objects are left out of the source, as on real instances, to show how
    // missing objects are reported (not retried, not fatal).
    const absent = new Set([keys[5]!.key, keys[40]!.key, keys[90]!.key]);
    const client = rawClient(source);
    const present = keys.filter((k) => !absent.has(k.key));
    for (let i = 0; i < present.length; i += 16) {
      await Promise.all(
        present.slice(i, i + 16).map((k) =>
          client.send(
            new PutObjectCommand({
              Bucket: 'mastodon-old',
              Key: k.key,
              Body: sampleBytes(k),
              ContentType: k.contentType,
            }),
          ),
        ),
      );
    }
    client.destroy();
    console.log(
      `source bucket: ${present.length} objects (${absent.size} referenced keys deliberately missing)`,
    );

    const config = join(workDir, 'config.ini');
    writeFileSync(
      config,
      `[s3.source]
access_key = ${source.accessKeyId}
secret_key = ${source.secretAccessKey}
endpoint_url = ${source.endpoint}
bucket = mastodon-old

[s3.destination]
access_key = ${destination.accessKeyId}
secret_key = ${destination.secretAccessKey}
endpoint_url = ${destination.endpoint}
bucket = mastodon-new

[pg.database]
host = ${pg.host}
port = ${pg.port}
user = postgres
password =
database = postgres

[sync]
concurrency = 8
`,
    );
    // Asynchronous on purpose: the embedded PostgreSQL answers from this process's event loop.
    const run = (args: string[]) =>
      new Promise<{ status: number | null }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args, '--config', config], { stdio: 'inherit' });
        child.on('close', (status) => resolve({ status }));
      });

    say(`mastodon-s3-sync sync --config ${config} --report ${join(workDir, 'report.ndjson')}`);
    const first = await run(['sync', '--report', join(workDir, 'report.ndjson')]);
    console.log(`exit code ${first.status}; the report lists the missing keys:`);
    process.stdout.write(readFileSync(join(workDir, 'report.ndjson'), 'utf8'));

    say('the same command again: everything already there is skipped (one LIST per batch, no GET/PUT)');
    const second = await run(['sync']);
    console.log(`exit code ${second.status}`);
    if (first.status !== 0 || second.status !== 0) process.exitCode = 1;
  } finally {
    await Promise.all([pg.stop(), source.stop(), destination.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
