import { getSection } from '../config/load.ts';
import { SYNC } from '../config/schema.ts';
import { storeConfig } from '../config/stores.ts';
import { ConfigError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/retry.ts';
import type { TableName } from '../mastodon/types.ts';
import type { RepairCounters, RepairOutcome } from '../run/repair.ts';
import { repairProgressPath, runRepair } from '../run/repair-run.ts';
import { parseTypes } from '../run/tables.ts';
import { openStore } from '../storage/open.ts';
import { NdjsonFile } from '../transfer/report.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { checkStore, fixedConcurrency } from './copy-setup.ts';
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
  const concurrency = options.concurrency ?? fixedConcurrency(sync.concurrency ?? 16);
  const dest = openStore(destConfig, {
    concurrency,
    multipartThreshold: sync.multipart_threshold,
    partSize: sync.part_size,
  });
  cleanup.add(() => dest.close());
  await checkStore(dest, `destination ${dest.description}`, !options.dryRun);
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup);

  const report = options.report ? new RepairReport(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());
  const resumable =
    options.limit === undefined && options.offset === undefined && options.sinceId === undefined;
  const { byTable, total, requests, seconds, refusal, interrupted } = await runRepair(
    {
      db,
      dest,
      abort: interrupts.abort.signal,
      stop: interrupts.stop.signal,
      onOutcome: (outcome) => report?.add(outcome),
      onResume: (resumed, file) =>
        ctx.log.info(
          `resuming an interrupted repair (${file}): ${resumed.map(([t, id]) => `${t} after id ${id}`).join(', ')}; --restart checks everything again`,
        ),
    },
    {
      plan: { tables, columns, read, catalog: { keyPrefix: '', acl: destConfig.acl, rules: mastodon.rules } },
      cacheControl: destConfig.cacheControl,
      concurrency,
      dryRun: Boolean(options.dryRun),
      retry: { ...DEFAULT_RETRY_POLICY, retries: sync.retries },
      maxRequestsPerSecond: sync.max_requests_per_second,
      progressFile: resumable ? repairProgressPath(ctx.file.path) : null,
      restart: Boolean(options.restart),
    },
  );
  await report?.close();

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
