/**
 * The sync pipeline, in one process: DB rows → catalog keys → what each store holds (batched
 * listings) → decide → a bounded pool of concurrent copies → stats and report.
 * Memory is one database batch plus the pool's backlog, however many rows there are.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { estimateRows, type ReadOptions } from '../db/reader.ts';
import type { Logger } from '../log.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogKey, CatalogOptions, TableName } from '../mastodon/types.ts';
import { StoreError } from '../storage/errors.ts';
import { unsafeKeyReason } from '../storage/keys.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { type CopyContext, type CopyTask, copyObject } from '../transfer/copy.ts';
import { decide } from '../transfer/decide.ts';
import { type LookupContext, lookupKeys } from '../transfer/lookup.ts';
import type { ReportWriter } from '../transfer/report.ts';
import { type RetryPolicy, withRetries } from '../transfer/retry.ts';
import type { Stats } from '../transfer/stats.ts';
import { enumerateKeys } from './enumerate.ts';
import { AdaptivePool } from './pool.ts';
import { RateLimiter } from './rate.ts';

export interface SyncSettings {
  tables: readonly TableName[];
  columns: ReadonlyMap<TableName, ReadonlySet<string>>;
  read: ReadOptions;
  catalog: CatalogOptions;
  force: boolean;
  checksum: boolean;
  dryRun: boolean;
  concurrency: number;
  retry: RetryPolicy;
  serverSide: boolean;
  cacheControl: string;
  maxRequestsPerSecond: number;
}

export interface SyncDeps {
  db: MastodonDatabase;
  source: ObjectStore;
  dest: ObjectStore;
  stats: Stats;
  log: Logger;
  report: ReportWriter | null;
  /** Aborts in-flight requests (second Ctrl-C). */
  abort: AbortSignal;
  /** Stops reading new rows; in-flight copies finish (first Ctrl-C). */
  stop: AbortSignal;
}

function retryable(error: unknown): { retry: boolean; retryAfterSeconds?: number } {
  if (!(error instanceof StoreError)) return { retry: false };
  const retry = error.kind === 'retryable' || error.kind === 'throttled';
  return error.retryAfterSeconds === undefined
    ? { retry }
    : { retry, retryAfterSeconds: error.retryAfterSeconds };
}

class SyncRun {
  private readonly pool: AdaptivePool;
  private readonly rate: RateLimiter;
  private readonly copyContext: CopyContext;

  constructor(
    private readonly deps: SyncDeps,
    private readonly settings: SyncSettings,
  ) {
    this.pool = new AdaptivePool({ concurrency: settings.concurrency, backlog: settings.concurrency * 4 });
    this.rate = new RateLimiter(settings.maxRequestsPerSecond);
    this.copyContext = {
      source: deps.source,
      dest: deps.dest,
      stats: deps.stats,
      signal: deps.abort,
      log: deps.log,
      retry: settings.retry,
      serverSide: settings.serverSide,
      cacheControl: settings.cacheControl,
      dryRun: settings.dryRun,
      rate: this.rate,
      pacer: this.pool,
    };
  }

  private lookupContext(): LookupContext {
    const { stats, abort, log } = this.deps;
    return {
      signal: abort,
      onRequest: (kind) => stats.request(kind),
      retry: async (fn) => {
        await this.rate.take(abort);
        return withRetries(
          this.settings.retry,
          {
            signal: abort,
            classify: retryable,
            onRetry: (error, attempt) => {
              stats.retries++;
              log.debug({ attempt, err: (error as Error).message }, 'retrying a lookup');
            },
          },
          fn,
        );
      },
    };
  }

  private async reportProblem(
    item: CatalogKey,
    status: 'missing' | 'failed',
    reason: string,
    alsoTried?: string,
  ) {
    const counters = this.deps.stats.table(item.table);
    if (status === 'missing') counters.missing++;
    else counters.failed++;
    this.deps.log.debug({ key: item.key, status, reason }, 'not copied');
    await this.deps.report?.add(item, status, reason, alsoTried);
  }

  /** Schedules the copy of one object and records its outcome when it ends. */
  private async scheduleCopy(task: CopyTask): Promise<void> {
    const { stats } = this.deps;
    await this.pool.submit(async () => {
      stats.inFlight++;
      try {
        const outcome = await copyObject(this.copyContext, task);
        const counters = stats.table(task.item.table);
        if (outcome.status === 'copied') {
          counters.copied++;
          counters.bytes += outcome.bytes;
          if (task.sourceKey !== task.item.key) stats.alternate++;
        } else {
          await this.reportProblem(task.item, outcome.status, outcome.reason);
        }
      } finally {
        stats.inFlight--;
        stats.concurrency = this.pool.limit;
      }
    });
  }

  /** Looks for keys missing at the source at their alternate location (one HEAD each; rare). */
  private async findAlternate(
    item: CatalogKey,
    columns: ReadonlySet<string>,
  ): Promise<[string, ObjectInfo] | null> {
    const alternate = alternateKey(item, columns);
    if (!alternate || unsafeKeyReason(alternate)) return null;
    this.deps.stats.request('head');
    const info = await this.lookupContext().retry(() => this.deps.source.head(alternate, this.deps.abort));
    return info ? [alternate, info] : null;
  }

  private async processBatch(keys: CatalogKey[], columns: ReadonlySet<string>): Promise<void> {
    const { stats, source, dest } = this.deps;
    const safe: CatalogKey[] = [];
    for (const item of keys) {
      const unsafe = unsafeKeyReason(item.key);
      if (unsafe) await this.reportProblem(item, 'failed', `unsafe key (${unsafe}); row skipped`);
      else safe.push(item);
    }
    const names = safe.map((item) => item.key);
    const ctx = this.lookupContext();
    const [atSource, atDest] = await Promise.all([
      lookupKeys(source, names, ctx),
      this.settings.force ? new Map<string, ObjectInfo>() : lookupKeys(dest, names, ctx),
    ]);

    for (const item of safe) {
      if (this.deps.stop.aborted) return;
      let sourceKey = item.key;
      let sourceInfo = atSource.get(item.key) ?? null;
      if (!sourceInfo) {
        const found = await this.findAlternate(item, columns);
        if (!found) {
          const alt = alternateKey(item, columns);
          await this.reportProblem(item, 'missing', 'not found at the source', alt ?? undefined);
          continue;
        }
        [sourceKey, sourceInfo] = found;
        this.deps.log.info(
          { key: item.key, foundAt: sourceKey },
          'found at its alternate location; copying it to the referenced key',
        );
      }
      const decision = decide(sourceInfo, atDest.get(item.key) ?? null, this.settings);
      if (decision.action === 'skip') stats.table(item.table).skipped++;
      else await this.scheduleCopy({ item, sourceKey, sourceInfo });
    }
  }

  async run(): Promise<void> {
    const { db, stats, stop } = this.deps;
    stats.concurrency = this.settings.concurrency;
    for (const table of this.settings.tables) {
      stats.table(table).rowsTotal = await estimateRows(db, table, this.settings.read);
    }
    for (const table of this.settings.tables) {
      if (stop.aborted) break;
      const columns = this.settings.columns.get(table)!;
      for await (const batch of enumerateKeys(
        db,
        table,
        columns,
        this.settings.read,
        this.settings.catalog,
      )) {
        const counters = stats.table(table);
        counters.rows += batch.rows;
        counters.keys += batch.keys.length;
        await this.processBatch(batch.keys, columns);
        if (stop.aborted) break;
      }
    }
    await this.pool.drain();
  }
}

export async function runSync(deps: SyncDeps, settings: SyncSettings): Promise<void> {
  await new SyncRun(deps, settings).run();
}
