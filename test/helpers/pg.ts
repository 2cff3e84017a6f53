/**
 * Throwaway PostgreSQL databases for tests, on the real server (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), loaded with a real Mastodon schema fixture.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export const ADMIN_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type SchemaEra = '3.1' | '3.5' | '4.0' | '4.6';
export const ERAS: readonly SchemaEra[] = ['3.1', '3.5', '4.0', '4.6'];

export interface TestDatabase {
  name: string;
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** A client with write access, for seeding. */
  client: pg.Client;
  /** An INI [pg.database] section pointing at this database. */
  iniSection(): string;
  drop(): Promise<void>;
}

export function fixtureSql(era: SchemaEra): string {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', `mastodon-schema-${era}.sql`), 'utf8');
}

export async function createTestDatabase(era: SchemaEra | null, prefix = 'msst'): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const name = `${prefix}_${(era ?? 'empty').replace('.', '')}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end(); // else a failed CREATE leaves the connection open and the test process hangs
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  if (era) await client.query(fixtureSql(era));
  const host = url.hostname;
  const port = Number(url.port || 5432);
  const user = decodeURIComponent(url.username || 'postgres');
  const password = decodeURIComponent(url.password);
  return {
    name,
    url: url.toString(),
    host,
    port,
    user,
    password,
    client,
    iniSection: () =>
      `[pg.database]\nhost = ${host}\nport = ${port}\nuser = ${user}\npassword = ${password}\ndatabase = ${name}\n`,
    async drop() {
      await client.end().catch(() => {});
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
