/**
 * `repair [TYPE...]`: fixes Content-Type, Cache-Control and ACL of the objects the destination
 * already holds, in place (see run/repair.ts). Resumable: after each batch the last row id
 * checked per table is saved next to the config (`<config>.repair.json`); a new run continues
 * from there (`--restart` checks everything again), and a completed run removes the file.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { databaseConfig } from '../config/database.ts';
import { getSection } from '../config/load.ts';
import { SYNC } from '../config/schema.ts';
import { storeConfig } from '../config/stores.ts';
import { ConfigError } from '../errors.ts';
import { RateLimiter } from '../lib/rate.ts';
import { DEFAULT_RETRY_POLICY, withRetries } from '../lib/retry.ts';
import type { TableName } from '../mastodon/types.ts';
import { enumerateKeys } from '../run/enumerate.ts';
import {
  addRepairCounters,
  emptyRepairCounters,
  type RepairCounters,
  Repairer,
  type RepairOutcome,
  RepairRefused,
  type RepairRequestKind,
} from '../run/repair.ts';
import { parseTypes } from '../run/tables.ts';
import { StoreError } from '../storage/errors.ts';
import { openStore } from '../storage/open.ts';
import { NdjsonFile } from '../transfer/report.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { checkStore } from './copy-setup.ts';
import { openDatabase, type ReadFlags } from './open-database.ts';
import { count, textTable, writeChunk } from './output.ts';
import type { Interrupts } from './sync.ts';

export interface RepairOptions extends ReadFlags {
  dryRun?: boolean;
  report?: string;
  json?: boolean;
  concurrency?: number;
  restart?: boolean;
}

interface RepairProgress {
  /** The last row id checked, per table not yet finished. */
  after: Partial<Record<TableName, string>>;
}

function progressPath(configPath: string): string {
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

/** `--report FILE`: one NDJSON line per key that was not already right. */
class RepairReport {
  private readonly file: NdjsonFile;
  constructor(
    path: string,
    private readonly redact: (text: string) => string,
  ) {
    this.file = new NdjsonFile(path);
  }
  async add(outcome: RepairOutcome): Promise<void> {
    if (outcome.status === 'right') return;
    const { item, decision } = outcome;
    const done =
      outcome.status === 'fixed'
        ? decision?.action
        : outcome.status === 'would-fix'
          ? `none (dry run: ${decision?.action})`
          : 'none';
    await this.file.write({
      key: item.key,
      table: item.table,
      id: item.id,
      style: item.style,
      status: outcome.status,
      wrong: decision?.wrong ?? (outcome.status === 'missing' ? 'absent (run sync)' : {}),
      done,
      ...(outcome.error ? { error: this.redact(outcome.error) } : {}),
    });
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

function render(
  byTable: ReadonlyMap<TableName, RepairCounters>,
  total: RepairCounters,
  dryRun: boolean,
): string {
  const rows = [...byTable, ['total', total] as const].map(([table, c]) => [
    table,
    count(c.checked),
    count(c.alreadyRight),
    count(c.fixed),
    count(c.failed),
    count(c.missing),
    count(c.fields.contentType),
    count(c.fields.cacheControl),
    count(c.fields.acl),
  ]);
  return textTable(
    [
      'table',
      'checked',
      'right',
      dryRun ? 'would fix' : 'fixed',
      'failed',
      'missing',
      'content-type',
      'cache-control',
      'acl',
    ],
    rows,
  );
}

export async function runRepairCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: RepairOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types);
  const destConfig = storeConfig(ctx.file, 'destination');
  if (destConfig.type !== 's3') {
    throw new ConfigError(
      `${ctx.file.displayPath}: [${destConfig.section}] is a filesystem destination: files have no Content-Type, Cache-Control or ACL to repair (the web server decides them)`,
    );
  }
  const sync = getSection(ctx.file, SYNC, false);
  const concurrency = options.concurrency ?? sync.concurrency ?? 16;
  const dest = openStore(destConfig, {
    concurrency,
    multipartThreshold: sync.multipart_threshold,
    partSize: sync.part_size,
  });
  cleanup.add(() => dest.close());
  await checkStore(dest, `destination ${dest.description}`, !options.dryRun);
  const { db, columns, tables, read, mastodon } = await openDatabase(
    ctx,
    databaseConfig(ctx.file),
    types,
    options,
    cleanup,
  );

  const progressFile = progressPath(ctx.file.path);
  const resumable =
    options.limit === undefined && options.offset === undefined && options.sinceId === undefined;
  const progress: RepairProgress = options.restart || !resumable ? { after: {} } : readProgress(progressFile);
  const resumed = Object.entries(progress.after).filter(([t]) => tables.includes(t as TableName));
  if (resumed.length > 0) {
    ctx.log.info(
      `resuming an interrupted repair (${progressFile}): ${resumed.map(([t, id]) => `${t} after id ${id}`).join(', ')}; --restart checks everything again`,
    );
  }
  const report = options.report ? new RepairReport(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());

  const signal = interrupts.abort.signal;
  const requests: Record<RepairRequestKind, number> & { throttled: number; retries: number } = {
    list: 0,
    head: 0,
    getAcl: 0,
    replaceMetadata: 0,
    setAcl: 0,
    throttled: 0,
    retries: 0,
  };
  const rate = new RateLimiter(sync.max_requests_per_second);
  const repairer = new Repairer(
    {
      dest,
      signal,
      onRequest: (kind) => {
        requests[kind]++;
      },
      retry: async (fn) => {
        await rate.take(signal);
        return withRetries(
          { ...DEFAULT_RETRY_POLICY, retries: sync.retries },
          {
            signal,
            classify: (e) => {
              if (!(e instanceof StoreError)) return { retry: false };
              if (e.kind === 'throttled') requests.throttled++;
              const retry = e.kind === 'retryable' || e.kind === 'throttled';
              return e.retryAfterSeconds === undefined
                ? { retry }
                : { retry, retryAfterSeconds: e.retryAfterSeconds };
            },
            onRetry: () => {
              requests.retries++;
            },
          },
          fn,
        );
      },
      onOutcome: (outcome) => report?.add(outcome),
    },
    { cacheControl: destConfig.cacheControl, concurrency, dryRun: Boolean(options.dryRun) },
  );

  const started = Date.now();
  const byTable = new Map<TableName, RepairCounters>();
  let refusal: string | null = null;
  everyTable: for (const table of tables) {
    const counters = emptyRepairCounters();
    byTable.set(table, counters);
    const after = progress.after[table];
    const tableRead = after !== undefined ? { ...read, sinceId: after } : read;
    for await (const batch of enumerateKeys(db, table, columns.get(table)!, tableRead, {
      keyPrefix: '',
      acl: destConfig.acl,
      rules: mastodon.rules,
    })) {
      try {
        await repairer.repairBatch(batch.keys, counters);
      } catch (error) {
        if (!(error instanceof RepairRefused)) throw error;
        refusal = error.message;
        break everyTable;
      }
      if (signal.aborted) break everyTable; // the batch was cut short: not recorded
      if (resumable && !options.dryRun) {
        progress.after[table] = batch.lastId;
        writeProgress(progressFile, progress);
      }
      if (interrupts.stop.signal.aborted) break everyTable;
    }
    if (resumable && !options.dryRun && !interrupts.stop.signal.aborted) {
      delete progress.after[table];
      writeProgress(progressFile, progress);
    }
  }
  await report?.close();
  const interrupted = interrupts.stop.signal.aborted || signal.aborted;
  if (
    resumable &&
    !options.dryRun &&
    !interrupted &&
    refusal === null &&
    Object.keys(progress.after).length === 0
  ) {
    rmSync(progressFile, { force: true });
  }

  const total = emptyRepairCounters();
  for (const c of byTable.values()) addRepairCounters(total, c);
  const seconds = (Date.now() - started) / 1000;
  if (options.json) {
    const summary = {
      ...total,
      dryRun: Boolean(options.dryRun),
      mastodon: mastodon.range,
      requests,
      objectsPerSecond: seconds > 0 ? Math.round(total.checked / seconds) : total.checked,
      tables: Object.fromEntries(byTable),
      ...(refusal ? { refused: ctx.redact(refusal) } : {}),
      ...(interrupted ? { interrupted: true } : {}),
    };
    await writeChunk(process.stdout, `${JSON.stringify(summary)}\n`);
  } else {
    await writeChunk(process.stdout, render(byTable, total, Boolean(options.dryRun)));
    ctx.log.info({ requests, seconds: Math.round(seconds * 10) / 10 }, 'repair requests');
  }
  if (total.missing > 0)
    ctx.log.warn(
      `${count(total.missing)} referenced object(s) are not at the destination: run sync for them`,
    );
  if (refusal) {
    ctx.log.error(
      `${refusal}: stopped, nothing more was changed (fix the destination's permissions, then run repair again)`,
    );
    return 1;
  }
  if (interrupted) return 130;
  return total.failed > 0 ? 1 : 0;
}
