/**
 * `plan` as a run: the keys of every batch (for printing), and per table the rows, keys and
 * known bytes with the local/remote split, plus a pre-flight estimate of the requests a first
 * sync into an empty destination would make.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { attachmentPrefix } from '../mastodon/paperclip.ts';
import type { CatalogKey, TableName } from '../mastodon/types.ts';
import { enumerateRun, type RunPlan } from './enumerate.ts';

export interface TableSummary {
  rows: number;
  keys: number;
  knownBytes: number;
  localKeys: number;
  remoteKeys: number;
}

/** Pre-flight numbers of one table's local or remote keys: what a first sync would do. */
export interface Preflight {
  objects: number;
  knownBytes: number;
  get: number;
  put: number;
  list: number;
}

/** Multipart settings a sync would use (Mastodon's defaults unless [sync] says otherwise). */
export interface UploadShape {
  multipartThreshold: number;
  partSize: number;
}

/** Requests to upload one object: one PUT, or create + parts + complete above the threshold. */
export function putRequests(size: number | null, shape: UploadShape): number {
  if (size === null || size <= shape.multipartThreshold) return 1;
  return 2 + Math.ceil(size / shape.partSize);
}

/**
 * Adds a batch to the pre-flight: one GET and the PUTs per object, and the LIST pages sync makes
 * (source and destination, one page per 1,000 keys of each attachment prefix in a batch).
 */
export function addToPreflight(
  preflight: Map<string, Preflight>,
  table: string,
  keys: readonly CatalogKey[],
  shape: UploadShape,
): void {
  const perPrefix = new Map<string, number>();
  for (const key of keys) {
    const scope = key.remote ? 'remote' : 'local';
    const id = `${table}\t${scope}`;
    const p = preflight.get(id) ?? { objects: 0, knownBytes: 0, get: 0, put: 0, list: 0 };
    preflight.set(id, p);
    p.objects++;
    p.knownBytes += key.size ?? 0;
    p.get++;
    p.put += putRequests(key.size, shape);
    const prefix = `${id}\t${attachmentPrefix(key.key)}`;
    perPrefix.set(prefix, (perPrefix.get(prefix) ?? 0) + 1);
  }
  for (const [prefix, n] of perPrefix) {
    const id = prefix.split('\t').slice(0, 2).join('\t');
    preflight.get(id)!.list += 2 * Math.ceil(n / 1000);
  }
}

export function addToSummary(summary: TableSummary, keys: readonly CatalogKey[], rows: number): void {
  summary.rows += rows;
  summary.keys += keys.length;
  for (const key of keys) {
    summary.knownBytes += key.size ?? 0;
    if (key.remote) summary.remoteKeys++;
    else summary.localKeys++;
  }
}

export interface PlanResult {
  summaries: Map<TableName, TableSummary>;
  preflight: Map<string, Preflight>;
}

/** Enumerates the plan; `onKeys` gets each batch's keys (to print), in order. */
export async function runPlan(
  db: MastodonDatabase,
  plan: RunPlan,
  options: { preflight: UploadShape | null; onKeys?: (keys: readonly CatalogKey[]) => Promise<void> },
): Promise<PlanResult> {
  const summaries = new Map<TableName, TableSummary>();
  for (const table of plan.tables)
    summaries.set(table, { rows: 0, keys: 0, knownBytes: 0, localKeys: 0, remoteKeys: 0 });
  const preflight = new Map<string, Preflight>();
  for await (const batch of enumerateRun(db, plan)) {
    addToSummary(summaries.get(batch.table)!, batch.keys, batch.rows);
    if (options.preflight) addToPreflight(preflight, batch.table, batch.keys, options.preflight);
    await options.onKeys?.(batch.keys);
  }
  return { summaries, preflight };
}
