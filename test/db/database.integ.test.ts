/**
 * MastodonDatabase.query on a real PostgreSQL: rows, types and errors as pg gives them, and
 * rows that die young — a keyset read must not promote its batches to the old generation
 * (which is what made `plan` grow to 150 MB on 1M rows; see `submit` in src/db/database.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { DatabaseConfig } from '../../src/config/database.ts';
import { MastodonDatabase } from '../../src/db/database.ts';
import { silentLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';

const ROWS = 100_000;
const BATCH = 1000;

function configFor(pg: TestDatabase): DatabaseConfig {
  return {
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: pg.name,
    schema: 'public',
    ssl: false,
    connectTimeoutMs: 10_000,
    batchSize: BATCH,
    tunnel: null,
  };
}

/**
 * Reads the table in keyset batches in a fresh process with `--trace-gc-nvp` and returns the
 * bytes its young-generation GCs promoted (a count of bytes, not a timing).
 */
async function promotedBytesOfKeysetRead(config: DatabaseConfig): Promise<{ bytes: number; rows: number }> {
  const database = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'db', 'database.ts')).href;
  const log = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'log.ts')).href;
  const script = `
    const { MastodonDatabase } = await import(${JSON.stringify(database)});
    const { silentLogger } = await import(${JSON.stringify(log)});
    const db = await MastodonDatabase.open(${JSON.stringify(config)}, silentLogger);
    let last = '0', rows = 0;
    for (;;) {
      const batch = await db.query('SELECT id::text AS id, a, b, c, n FROM items WHERE id > $1 ORDER BY id LIMIT $2', [last, ${BATCH}]);
      if (batch.length === 0) break;
      rows += batch.length;
      last = batch[batch.length - 1].id;
    }
    await db.close();
    console.log('ROWS ' + rows);
  `;
  const env = { ...process.env };
  delete env['NODE_V8_COVERAGE']; // coverage is not what is measured here
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--trace-gc-nvp', '--input-type=module', '-e', script],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  let bytes = 0;
  for (const match of stdout.matchAll(/\bpromoted=(\d+)/g)) bytes += Number(match[1]);
  return { bytes, rows: Number(/^ROWS (\d+)$/m.exec(stdout)?.[1] ?? -1) };
}

describe('MastodonDatabase.query', () => {
  let pg: TestDatabase;
  let db: MastodonDatabase;

  before(async () => {
    pg = await createTestDatabase(null);
    await pg.client.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, a text, b text, c text, n integer);
      INSERT INTO items
      SELECT 108000000000000000 + i::bigint * 65536, md5(i::text) || '.jpeg', 'image/jpeg',
             CASE WHEN i % 3 = 0 THEN 'https://files.example/' || md5(i::text) END, i
      FROM generate_series(1, ${ROWS}) AS i;
      ANALYZE items;
    `);
    db = await MastodonDatabase.open(configFor(pg), silentLogger);
  });

  after(async () => {
    await db?.close();
    await pg?.drop();
  });

  it('returns the rows with pg’s types: bigint as text, integer as number, NULL as null', async () => {
    const rows = await db.query<{ id: string; big: string; n: number; c: string | null }>(
      'SELECT id::text AS id, id AS big, n, c FROM items WHERE id > $1 ORDER BY id LIMIT $2',
      ['0', 3],
    );
    assert.deepEqual(rows, [
      { id: '108000000000065536', big: '108000000000065536', n: 1, c: null },
      { id: '108000000000131072', big: '108000000000131072', n: 2, c: null },
      {
        id: '108000000000196608',
        big: '108000000000196608',
        n: 3,
        c: 'https://files.example/eccbc87e4b5ce2fe28308fd9f2a7baf3',
      },
    ]);
    assert.deepEqual(await db.query('SELECT 1 AS one WHERE false'), []);
    assert.deepEqual(await db.query('SHOW transaction_read_only'), [{ transaction_read_only: 'on' }]);
  });

  it('rejects with PostgreSQL’s error and stays usable', async () => {
    await assert.rejects(db.query('SELECT nope FROM items'), /column "nope" does not exist/);
    await assert.rejects(db.query('INSERT INTO items (id) VALUES (1)'), /read-only transaction/);
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM items'), [{ n: ROWS }]);
  });

  it('a keyset read of 100,000 rows promotes almost nothing to the old generation', async () => {
    const { bytes, rows } = await promotedBytesOfKeysetRead(configFor(pg));
    assert.equal(rows, ROWS);
    // Measured: ≈ 5 MB (mostly loading the modules through tsx) with the callback query, ≈ 22 MB
    // through pg's promise API, which promoted about half of every batch. The bound sits between.
    assert.ok(bytes < 12 * 1024 * 1024, `promoted ${(bytes / 1e6).toFixed(1)} MB during the read`);
  });
});
