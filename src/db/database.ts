/**
 * The connection to Mastodon's database: opened through the SSH tunnel when configured,
 * read-only for the whole session, and re-opened when it drops mid-run (callers simply
 * re-run the query: keyset reads are idempotent).
 */

import type { DatabaseConfig } from '../config/database.ts';
import { ServiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { TABLE_NAMES, type TableName } from '../mastodon/types.ts';
import { describeConnectError, isConnectionLost } from './errors.ts';
import pg from './pg.ts';
import { INTROSPECT_COLUMNS, SCHEMA_VERSION } from './queries/keyset.ts';
import type { Tunnel } from './tunnel.ts';

/** How often a dropped connection is re-opened before the run gives up, and the first wait. */
const RECONNECT_ATTEMPTS = 5;
const RECONNECT_FIRST_DELAY_MS = 500;

/**
 * Runs one statement as a `pg.Query` with a callback rather than through `client.query(sql,
 * params)`'s promise: the same protocol, rows, types and errors. Measured on a 1M-row keyset read
 * (`--trace-gc-nvp`): through pg's promise wrapper about half of every batch's rows survived
 * young-generation GCs and were promoted (≈ 250 MB promoted, 14 full GCs, the old generation
 * growing to ≈ 65 MB between them, `plan` peaking at ≈ 150 MB RSS); with a callback the rows die
 * young (≈ 2 MB promoted, no full GC) and `plan` peaks ≈ 50 MB lower with less CPU. Every command
 * that reads the database goes through here. Guarded by test/db/database.integ.test.ts.
 */
function submit<R extends pg.QueryResultRow>(
  client: pg.Client,
  sql: string,
  params: unknown[],
): Promise<R[]> {
  return new Promise<R[]>((resolve, reject) => {
    client.query(
      new pg.Query<R>(sql, params, (error, result) => {
        if (error) reject(error);
        else resolve(result.rows);
      }),
    );
  });
}

export class MastodonDatabase {
  private client: pg.Client | null = null;
  private tunnel: Tunnel | null = null;
  private closed = false;

  private constructor(
    readonly config: DatabaseConfig,
    private readonly log: Logger,
  ) {}

  /** Opens the tunnel (if any) and the connection; fails fast with what was tried. */
  static async open(config: DatabaseConfig, log: Logger): Promise<MastodonDatabase> {
    const db = new MastodonDatabase(config, log);
    try {
      await db.connect();
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }

  /** Where we connect, for messages (never the password). */
  get target(): string {
    const { user, host, port, database, tunnel } = this.config;
    const via = tunnel ? ` through SSH ${tunnel.sshUser}@${tunnel.sshHost}:${tunnel.sshPort}` : '';
    return `${user}@${host}:${port}/${database}${via}`;
  }

  private async ensureTunnel(): Promise<{ host: string; port: number }> {
    const { tunnel: settings, host, port } = this.config;
    if (!settings) return { host, port };
    if (!this.tunnel) {
      // Loaded only when a tunnel is configured: ssh2 costs ≈ 14 MB of memory.
      const { openTunnel } = await import('./tunnel.ts');
      this.tunnel = await openTunnel({
        ...settings,
        remoteHost: host,
        remotePort: port,
        readyTimeoutMs: this.config.connectTimeoutMs,
      });
      this.log.debug({ local: `${this.tunnel.host}:${this.tunnel.port}` }, 'SSH tunnel open');
    }
    return { host: this.tunnel.host, port: this.tunnel.port };
  }

  private async connect(): Promise<void> {
    const { host, port } = await this.ensureTunnel();
    const client = new pg.Client({
      host,
      port,
      user: this.config.user,
      password: this.config.password,
      database: this.config.database,
      ssl: this.config.ssl,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      keepAlive: true,
      application_name: 'mastodon-s3-sync',
    });
    // A connection that dies between queries emits 'error'; the next query reconnects.
    client.on('error', (error) => this.log.debug({ err: error.message }, 'database connection error'));
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => {});
      const tunnelError = this.tunnel?.lastError?.();
      throw tunnelError ?? describeConnectError(error, this.target);
    }
    try {
      // The tool never writes: every transaction of this session is read-only.
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
      await client.query(`SET search_path TO "${this.config.schema.replace(/"/g, '""')}"`);
      const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      if (rows[0]?.transaction_read_only !== 'on')
        throw new ServiceError('could not make the database session read-only');
    } catch (error) {
      client.end().catch(() => {});
      throw error instanceof ServiceError ? error : describeConnectError(error, this.target);
    }
    this.client = client;
  }

  private async reconnect(cause: unknown): Promise<void> {
    const old = this.client;
    this.client = null;
    old?.end().catch(() => {});
    let delay = RECONNECT_FIRST_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      this.log.warn({ attempt, cause: (cause as Error)?.message }, 'database connection lost; reconnecting');
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        if (this.tunnel?.lastError?.()) {
          await this.tunnel.close();
          this.tunnel = null;
        }
        await this.connect();
        return;
      } catch (error) {
        if (attempt >= RECONNECT_ATTEMPTS) throw error;
        delay = Math.min(delay * 2, 8000);
      }
    }
  }

  /**
   * Milliseconds statements have taken so far, from sending to the last row (what a run costs
   * the database, roughly: `sync --follow` reports it per pass).
   */
  queryMs = 0;

  /** Runs one statement, reconnecting and re-running it if the connection was lost. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    for (;;) {
      if (this.closed) throw new ServiceError('database connection closed');
      if (!this.client) await this.reconnect(new Error('not connected'));
      const started = performance.now();
      try {
        return await submit<R>(this.client!, sql, params);
      } catch (error) {
        if (!isConnectionLost(error) || this.closed) throw error;
        await this.reconnect(error);
      } finally {
        this.queryMs += performance.now() - started;
      }
    }
  }

  /** The columns of each Mastodon table present in this database (absent tables are left out). */
  async introspect(): Promise<Map<TableName, Set<string>>> {
    const rows = await this.query<{ table_name: string; column_name: string }>(INTROSPECT_COLUMNS, [
      this.config.schema,
      [...TABLE_NAMES],
    ]);
    const tables = new Map<TableName, Set<string>>();
    for (const { table_name, column_name } of rows) {
      const table = table_name as TableName;
      if (!tables.has(table)) tables.set(table, new Set());
      tables.get(table)!.add(column_name);
    }
    return tables;
  }

  /** The columns of one other table (empty when it does not exist): `statuses` decides media ACLs. */
  async columnsOf(table: string): Promise<Set<string>> {
    const rows = await this.query<{ column_name: string }>(INTROSPECT_COLUMNS, [this.config.schema, [table]]);
    return new Set(rows.map((r) => r.column_name));
  }

  /** The newest migration applied (e.g. '20260611150940'), or null when unknown. */
  async schemaVersion(): Promise<string | null> {
    try {
      const rows = await this.query<{ version: string | null }>(SCHEMA_VERSION);
      return rows[0]?.version ?? null;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
    await this.tunnel?.close();
    this.tunnel = null;
  }
}
