/**
 * What a queued job carries: plain JSON, never clients or Buffers, ids as strings (snowflakes
 * exceed 2^53). A job is one batch of rows of one table, with every key the catalog computed
 * for them, so a worker needs no database.
 */
import { createHash } from 'node:crypto';
import type { CatalogKey, TableName } from '../mastodon/types.ts';
import type { Counters } from './progress.ts';

/** One key of a job: a CatalogKey without the table (the job's), plus its alternate location. */
export interface JobKey extends Omit<CatalogKey, 'table'> {
  /** Where else the source may hold it (with/without `cache/`), when the catalog says so. */
  alt?: string;
}

export interface JobProblem {
  key: string;
  reason: string;
}

export interface BatchJobData {
  table: TableName;
  firstId: string;
  lastId: string;
  rows: number;
  keys: JobKey[];
  /** Counts carried over from earlier attempts of this job (a retry skips what they copied). */
  carried?: { copied: number; bytes: number };
  /** Set when the job ends failed: exactly which keys failed, and why. */
  failures?: JobProblem[];
  /** How many times `jobs --retry-failed` requeued this batch's failures. */
  retry?: number;
  /** The `jobs --follow` pass that queued it (its counters are also added to the pass's). */
  pass?: string;
}

/** What a finished batch returns: its counts (as committed to the shared progress). */
export type BatchJobResult = Counters;

/**
 * Deterministic job id of a batch (BullMQ refuses a second job with the same id, so running
 * `jobs` twice does not queue the same rows twice). Not a bare integer, no ':' (BullMQ rules).
 */
export function batchJobId(firstId: string, lastId: string): string {
  return `rows-${firstId}-${lastId}`;
}

/**
 * Job id of a `jobs --follow` batch: scoped by its pass, and by what it holds (a digest of its
 * keys, their ACLs and alternates). The same pass started again after a restart finds its
 * batches by these ids instead of queueing them twice; a row whose file or state changed since
 * (a new avatar, a suspension) makes another id, so it is queued, never taken as done.
 */
export function followBatchJobId(
  pass: string,
  firstId: string,
  lastId: string,
  keys: readonly JobKey[],
): string {
  const digest = createHash('sha256').update(JSON.stringify(keys)).digest('hex').slice(0, 16);
  return `${pass}-rows-${firstId}-${lastId}-${digest}`;
}

export function toJobKey(item: CatalogKey, alt: string | null): JobKey {
  const { table: _table, ...rest } = item;
  return alt ? { ...rest, alt } : rest;
}

export function fromJobKey(table: TableName, key: JobKey): CatalogKey {
  const { alt: _alt, ...rest } = key;
  return { ...rest, table };
}
