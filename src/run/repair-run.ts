/**
 * `repair` as a run: every key the plan enumerates goes through the Repairer (repair.ts),
 * batch by batch. Resumable: after each batch the last row id checked per table is saved next
 * to the config (`<config>.repair.json`); the next run continues from there, and a completed
 * run removes the file.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { MastodonDatabase } from '../db/database.ts';
import { ConfigError } from '../errors.ts';
import type { RetryPolicy } from '../lib/retry.ts';
import type { TableName } from '../mastodon/types.ts';
import type { ObjectStore } from '../storage/types.ts';
import { countingPolicy, storeRequest } from '../transfer/requests.ts';
import type { RunPlan } from './enumerate.ts';
import { enumerateRun } from './enumerate.ts';
import {
  addRepairCounters,
  emptyRepairCounters,
  type RepairCounters,
  Repairer,
  type RepairOutcome,
  RepairRefused,
  type RepairRequestKind,
} from './repair.ts';

interface RepairProgress {
  /** The last row id checked, per table not yet finished. */
  after: Partial<Record<TableName, string>>;
}

export function repairProgressPath(configPath: string): string {
  return `${configPath}.repair.json`;
}

function readProgress(path: string): RepairProgress {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { after: {} };
  }
  try {
    return { after: (JSON.parse(text) as RepairProgress).after ?? {} };
  } catch {
    throw new ConfigError(
      `${path}: not a repair progress file this tool wrote (delete it, or pass --restart)`,
    );
  }
}

function writeProgress(path: string, progress: RepairProgress): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(progress)}\n`);
  renameSync(temporary, path);
}

export interface RepairRunDeps {
  db: MastodonDatabase;
  dest: ObjectStore;
  abort: AbortSignal;
  stop: AbortSignal;
  onOutcome(outcome: RepairOutcome): Promise<void> | void;
  /** Told which tables resume, and after which id. */
  onResume?(resumed: ReadonlyArray<[string, string]>, progressFile: string): void;
}

export interface RepairRunSettings {
  plan: RunPlan;
  cacheControl: string;
  concurrency: number;
  dryRun: boolean;
  retry: RetryPolicy;
  maxRequestsPerSecond: number;
  /** The progress file; null: not resumable (--limit, --offset, --since-id). */
  progressFile: string | null;
  /** Ignore saved progress. */
  restart: boolean;
}

export type RepairRequests = Record<RepairRequestKind, number> & { throttled: number; retries: number };

export interface RepairResult {
  byTable: Map<TableName, RepairCounters>;
  total: RepairCounters;
  requests: RepairRequests;
  seconds: number;
  /** Why the destination ended the run (it refused a write or read outright), or null. */
  refusal: string | null;
  interrupted: boolean;
}

export async function runRepair(deps: RepairRunDeps, settings: RepairRunSettings): Promise<RepairResult> {
  const { progressFile, dryRun } = settings;
  const saving = progressFile !== null && !dryRun;
  const progress: RepairProgress =
    progressFile === null || settings.restart ? { after: {} } : readProgress(progressFile);
  const resumed = Object.entries(progress.after).filter(([t]) =>
    settings.plan.tables.includes(t as TableName),
  );
  if (resumed.length > 0 && progressFile) deps.onResume?.(resumed as Array<[string, string]>, progressFile);

  const requests: RepairRequests = {
    list: 0,
    head: 0,
    getAcl: 0,
    replaceMetadata: 0,
    setAcl: 0,
    throttled: 0,
    retries: 0,
  };
  const policy = countingPolicy(settings.retry, settings.maxRequestsPerSecond, deps.abort, requests);
  const repairer = new Repairer(
    {
      dest: deps.dest,
      signal: deps.abort,
      onRequest: (kind) => {
        requests[kind]++;
      },
      retry: (fn) => storeRequest(policy, () => fn()),
      onOutcome: deps.onOutcome,
    },
    { cacheControl: settings.cacheControl, concurrency: settings.concurrency, dryRun },
  );

  const started = Date.now();
  const byTable = new Map<TableName, RepairCounters>();
  for (const table of settings.plan.tables) byTable.set(table, emptyRepairCounters());
  let refusal: string | null = null;
  let current: TableName | null = null;
  const finishTable = (table: TableName) => {
    if (!saving || deps.stop.aborted || deps.abort.aborted) return;
    delete progress.after[table];
    writeProgress(progressFile, progress);
  };
  const plan: RunPlan = {
    ...settings.plan,
    readFor: (table) => {
      const after = progress.after[table];
      return after !== undefined ? { ...settings.plan.read, sinceId: after } : settings.plan.read;
    },
  };
  for await (const batch of enumerateRun(deps.db, plan)) {
    if (current !== batch.table) {
      if (current) finishTable(current);
      current = batch.table;
    }
    try {
      await repairer.repairBatch(batch.keys, byTable.get(batch.table)!);
    } catch (error) {
      if (!(error instanceof RepairRefused)) throw error;
      refusal = error.message;
      break;
    }
    if (deps.abort.aborted) break; // the batch was cut short: not recorded
    if (saving) {
      progress.after[batch.table] = batch.lastId;
      writeProgress(progressFile, progress);
    }
    if (deps.stop.aborted) break;
  }
  if (current && refusal === null) finishTable(current);
  const interrupted = deps.stop.aborted || deps.abort.aborted;
  if (saving && !interrupted && refusal === null && Object.keys(progress.after).length === 0) {
    rmSync(progressFile, { force: true });
  }
  const total = emptyRepairCounters();
  for (const c of byTable.values()) addRepairCounters(total, c);
  return { byTable, total, requests, seconds: (Date.now() - started) / 1000, refusal, interrupted };
}
