/**
 * `verify` as a run: every key the plan enumerates is checked by listing (presence, size,
 * MD5), then per object (all keys, or a uniform sample) for Content-Type, ACL and public
 * access (verify.ts). Problems go to the report as they are found; counters per table.
 */
import type { MastodonDatabase } from '../db/database.ts';
import type { RetryPolicy } from '../lib/retry.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import { attachmentPrefix } from '../mastodon/paperclip.ts';
import type { CatalogKey, TableName } from '../mastodon/types.ts';
import type { ObjectStore } from '../storage/types.ts';
import type { ReportWriter } from '../transfer/report.ts';
import { countingPolicy, lookupContextOf } from '../transfer/requests.ts';
import { enumerateRun, type RunPlan } from './enumerate.ts';
import {
  emptyVerifyCounters,
  Reservoir,
  Verifier,
  type VerifyCounters,
  type VerifyProblem,
  type VerifySettings,
} from './verify.ts';

export interface VerifyRunDeps {
  db: MastodonDatabase;
  source: ObjectStore;
  dest: ObjectStore;
  report: ReportWriter | null;
  /** Aborts requests in flight. */
  abort: AbortSignal;
  /** Stops enumerating; what was found so far is summed up. */
  stop: AbortSignal;
}

export interface VerifyRunSettings {
  plan: RunPlan;
  verifier: VerifySettings;
  /** Per-object checks on a uniform sample of this many keys only. */
  sample?: number;
  retry: RetryPolicy;
  maxRequestsPerSecond: number;
}

export interface VerifyRequests {
  list: number;
  head: number;
  public: number;
  acl: number;
  retries: number;
  throttled: number;
}

export interface VerifyResult {
  byTable: Map<TableName, VerifyCounters>;
  totals: VerifyCounters;
  /** Keys with a problem (absent, size, md5, content-type, public, acl). */
  problems: number;
  requests: VerifyRequests;
}

export function problemCount(c: VerifyCounters): number {
  return c.absent + c.size + c.md5 + c.contentType + c.public + c.acl;
}

export async function runVerify(deps: VerifyRunDeps, settings: VerifyRunSettings): Promise<VerifyResult> {
  const requests: VerifyRequests = { list: 0, head: 0, public: 0, acl: 0, retries: 0, throttled: 0 };
  const lookup = lookupContextOf(
    countingPolicy(settings.retry, settings.maxRequestsPerSecond, deps.abort, requests),
    (kind) => {
      requests[kind]++;
    },
    attachmentPrefix,
  );
  const verifier = new Verifier(deps.source, deps.dest, settings.verifier, lookup, (kind) => {
    requests[kind]++;
  });
  const byTable = new Map<TableName, VerifyCounters>();
  for (const table of settings.plan.tables) byTable.set(table, emptyVerifyCounters());
  const problems: VerifyProblem[] = [];
  const flush = async () => {
    for (const p of problems.splice(0)) {
      const columns = settings.plan.columns.get(p.item.table)!;
      const alt = p.kind === 'absent' ? alternateKey(p.item, columns) : null;
      await deps.report?.add(p.item, p.kind, p.reason, alt ?? undefined);
    }
  };
  const sample = settings.sample !== undefined ? new Reservoir<CatalogKey>(settings.sample) : null;
  for await (const batch of enumerateRun(deps.db, settings.plan)) {
    if (deps.stop.aborted) break;
    const counters = byTable.get(batch.table)!;
    const inPlace = await verifier.checkListed(batch.keys, counters, problems);
    if (sample) for (const item of inPlace) sample.add(item);
    else await verifier.inspect(inPlace, counters, problems);
    await flush();
  }
  if (sample) {
    // Sampled keys are inspected at the end, attributed to their own tables.
    for (const item of sample.items) await verifier.inspect([item], byTable.get(item.table)!, problems);
    await flush();
  }
  const totals = emptyVerifyCounters();
  for (const c of byTable.values())
    for (const k of Object.keys(totals) as Array<keyof VerifyCounters>) totals[k] += c[k];
  return { byTable, totals, problems: problemCount(totals), requests };
}
