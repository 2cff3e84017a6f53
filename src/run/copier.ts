/**
 * The copy path both schedulers share (one code path, two schedulers): a batch of catalog keys
 * → what each store holds (batched listings) → decide → a bounded pool of concurrent copies →
 * stats, report, and a tally of this batch alone.
 *
 * `sync` feeds it batches straight from the database; a queue worker feeds it the batches of
 * its jobs. The tally lets a worker commit exactly one batch's outcome, once.
 */

import { AdaptivePool, type AutoLimitChange } from '../lib/pool.ts';
import { RateLimiter } from '../lib/rate.ts';
import type { RetryPolicy } from '../lib/retry.ts';
import type { Logger } from '../log.ts';
import { attachmentPrefix } from '../mastodon/paperclip.ts';
import type { CatalogKey } from '../mastodon/types.ts';
import { unsafeKeyReason } from '../storage/keys.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { type CopyContext, type CopyTask, copyObject, type StoreSide } from '../transfer/copy.ts';
import { decide } from '../transfer/decide.ts';
import { type LookupContext, lookupKeys } from '../transfer/lookup.ts';
import { addOutcomes, emptyOutcomes, type Outcomes, outcomeOf } from '../transfer/outcomes.ts';
import type { ReportWriter } from '../transfer/report.ts';
import { asStoreError, lookupContextOf } from '../transfer/requests.ts';
import type { Stats } from '../transfer/stats.ts';

export interface CopierSettings {
  force: boolean;
  checksum: boolean;
  dryRun: boolean;
  /** Copies at once; with maxConcurrency (concurrency = auto), where the pool starts. */
  concurrency: number;
  /** concurrency = auto: the pool chooses its limit, up to this. */
  maxConcurrency?: number;
  retry: RetryPolicy;
  serverSide: boolean;
  cacheControl: string;
  maxRequestsPerSecond: number;
  /**
   * Hold keys whose copy failed with a retryable error (after all its retries) instead of
   * counting them failed: `sync` copies them again in later passes ([sync] retry_passes).
   */
  retryLater?: boolean;
}

export interface CopierDeps {
  source: ObjectStore;
  dest: ObjectStore;
  stats: Stats;
  log: Logger;
  report: ReportWriter | null;
  /** Aborts in-flight requests. */
  abort: AbortSignal;
  /** Stops scheduling new copies; those in flight finish. */
  stop: AbortSignal;
  /**
   * A store refused the whole run (storage/errors.ts `fatal`): the scheduler stops and aborts
   * what is in flight. Absent (queue workers): such keys simply fail.
   */
  onFatal?(side: StoreSide, message: string): void;
}

export interface Problem {
  key: string;
  status: 'missing' | 'failed';
  reason: string;
}

/** The outcome of one batch, apart from the run's totals: its outcomes, problems, interrupted keys. */
export interface BatchTally extends Outcomes {
  keys: number;
  /** Every key not copied or skipped, with the reason. */
  problems: Problem[];
  /** Keys not handled because the run was stopped. */
  interrupted: number;
}

export function emptyTally(): BatchTally {
  return { keys: 0, ...emptyOutcomes(), problems: [], interrupted: 0 };
}

/** A key whose copy failed with a transient error, kept for another pass, and why it failed. */
export interface HeldBack {
  item: CatalogKey;
  reason: string;
}

/** Where else the source may hold a key (with/without `cache/`), or null. */
export type AlternateOf = (item: CatalogKey) => string | null;

export class BatchCopier {
  private readonly pool: AdaptivePool;
  private readonly rate: RateLimiter;
  private readonly copyContext: CopyContext;
  private holding: boolean;
  private readonly heldBack: HeldBack[] = [];

  constructor(
    private readonly deps: CopierDeps,
    private readonly settings: CopierSettings,
  ) {
    this.pool = new AdaptivePool({
      concurrency: settings.concurrency,
      backlog: (settings.maxConcurrency ?? settings.concurrency) * 4,
      ...(settings.maxConcurrency
        ? {
            autoMax: settings.maxConcurrency,
            onAutoLimit: ({ limit, rate, throttled }: AutoLimitChange) =>
              deps.log.debug(
                {
                  concurrency: limit,
                  ...(rate === undefined ? {} : { objectsPerSecond: Math.round(rate) }),
                  ...(throttled ? { throttled } : {}),
                },
                'concurrency auto',
              ),
          }
        : {}),
    });
    this.rate = new RateLimiter(settings.maxRequestsPerSecond);
    this.holding = settings.retryLater === true;
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
    deps.stats.setConcurrency(settings.concurrency);
    deps.stats.concurrencyAuto = this.pool.autoTuned;
  }

  /** The run's lookups in one store: its retry budget, rate cap, throttle feedback and request counts. */
  lookupContext(side: StoreSide): LookupContext {
    const { stats, abort, log } = this.deps;
    return lookupContextOf(
      {
        retry: this.settings.retry,
        rate: this.rate,
        signal: abort,
        // Throttled listings count, and slow the copies down, as throttled copies do.
        onThrottled: () => {
          stats.throttled++;
          this.pool.throttled();
        },
        onRetry: (error, attempt) => {
          stats.retries++;
          log.debug({ attempt, err: error.message }, 'retrying a lookup');
        },
      },
      (kind) => stats.request(kind, side),
      attachmentPrefix,
    );
  }

  /** Keys whose copy failed with a retryable error, held back for a later pass (retryLater). */
  takeHeldBack(): HeldBack[] {
    return this.heldBack.splice(0);
  }

  get heldBackCount(): number {
    return this.heldBack.length;
  }

  /** Puts keys back (a pass stopped before submitting them). */
  holdBack(keys: readonly HeldBack[]): void {
    this.heldBack.push(...keys);
  }

  /** The last pass: what fails now is counted failed. */
  stopHoldingBack(): void {
    this.holding = false;
  }

  /** One key's outcome, into the batch's tally and the run's stats alike. */
  private count(tally: BatchTally, item: CatalogKey, outcomes: Outcomes): void {
    addOutcomes(tally, outcomes);
    this.deps.stats.add(item.table, outcomes);
  }

  /** Counts the keys still held back as failed (no pass left, or the run stopped). */
  async failHeldBack(): Promise<void> {
    const tally = emptyTally();
    for (const { item, reason } of this.heldBack.splice(0))
      await this.recordProblem(tally, item, 'failed', reason);
  }

  private async recordProblem(
    tally: BatchTally,
    item: CatalogKey,
    status: 'missing' | 'failed',
    reason: string,
    alsoTried?: string,
  ) {
    this.count(tally, item, outcomeOf(status));
    tally.problems.push({ key: item.key, status, reason });
    this.deps.log.debug({ key: item.key, status, reason }, 'not copied');
    await this.deps.report?.add(item, status, reason, alsoTried);
  }

  /** Schedules the copy of one object; the returned promise ends with the copy. */
  private async scheduleCopy(task: CopyTask, tally: BatchTally): Promise<{ done: Promise<void> }> {
    const { stats } = this.deps;
    return this.pool.submit(async () => {
      stats.inFlight++;
      try {
        const outcome = await copyObject(this.copyContext, task);
        if (outcome.status === 'copied') {
          this.count(tally, task.item, outcomeOf('copied', outcome.bytes));
          if (task.sourceKey !== task.item.key) stats.alternate++;
        } else if (outcome.reason === 'interrupted') {
          tally.interrupted++;
        } else if (outcome.status === 'failed' && outcome.retryable && this.holding) {
          this.heldBack.push({ item: task.item, reason: outcome.reason });
        } else {
          if (outcome.status === 'failed' && outcome.fatal)
            this.deps.onFatal?.(outcome.fatal, outcome.reason);
          await this.recordProblem(tally, task.item, outcome.status, outcome.reason);
        }
      } finally {
        stats.inFlight--;
        stats.setConcurrency(this.pool.limit);
      }
    });
  }

  /** Looks for keys missing at the source at their alternate location (one HEAD each; rare). */
  private async findAlternate(alternate: string | null): Promise<[string, ObjectInfo] | null> {
    if (!alternate || unsafeKeyReason(alternate)) return null;
    this.deps.stats.request('head', 'source');
    const info = await this.lookupContext('source').retry(() =>
      this.deps.source.head(alternate, this.deps.abort),
    );
    return info ? [alternate, info] : null;
  }

  /**
   * Looks up and decides every key of the batch and schedules its copies (waiting while the
   * pool's backlog is full). Resolves once all are scheduled, with the batch's tally (updated
   * as its copies end) and a promise of the batch's end.
   */
  async submitBatch(
    keys: readonly CatalogKey[],
    alternateOf: AlternateOf,
  ): Promise<{ tally: BatchTally; finished: Promise<BatchTally> }> {
    const { source, dest } = this.deps;
    const tally = emptyTally();
    tally.keys = keys.length;
    const copies: Array<Promise<void>> = [];
    const safe: CatalogKey[] = [];
    for (const item of keys) {
      const unsafe = unsafeKeyReason(item.key);
      if (unsafe) await this.recordProblem(tally, item, 'failed', `unsafe key (${unsafe}); row skipped`);
      else safe.push(item);
    }
    const names = safe.map((item) => item.key);
    const lookup = (side: StoreSide, store: ObjectStore) =>
      lookupKeys(store, names, this.lookupContext(side)).catch((error: unknown) => {
        const e = asStoreError(error);
        if (e.kind !== 'fatal' || !this.deps.onFatal) throw error;
        this.deps.onFatal(side, e.message);
        return null;
      });
    const [atSource, atDest] = await Promise.all([
      lookup('source', source),
      this.settings.force ? new Map<string, ObjectInfo>() : lookup('destination', dest),
    ]);
    if (!atSource || !atDest) {
      tally.interrupted += safe.length;
      return { tally, finished: Promise.resolve(tally) };
    }

    for (const [index, item] of safe.entries()) {
      if (this.deps.stop.aborted) {
        tally.interrupted += safe.length - index;
        break;
      }
      let sourceKey = item.key;
      let sourceInfo = atSource.get(item.key) ?? null;
      if (!sourceInfo) {
        const alternate = alternateOf(item);
        const found = await this.findAlternate(alternate);
        if (!found) {
          await this.recordProblem(tally, item, 'missing', 'not found at the source', alternate ?? undefined);
          continue;
        }
        [sourceKey, sourceInfo] = found;
        this.deps.log.info(
          { key: item.key, foundAt: sourceKey },
          'found at its alternate location; copying it to the referenced key',
        );
      }
      const decision = decide(sourceInfo, atDest.get(item.key) ?? null, this.settings);
      if (decision.action === 'skip') {
        this.count(tally, item, outcomeOf('skipped'));
      } else {
        copies.push((await this.scheduleCopy({ item, sourceKey, sourceInfo }, tally)).done);
      }
    }
    return { tally, finished: Promise.all(copies).then(() => tally) };
  }

  /** Waits for every scheduled copy to finish. */
  async drain(): Promise<void> {
    await this.pool.drain();
  }
}
