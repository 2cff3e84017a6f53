import { ConfigError } from '../errors.ts';
import type { TableName } from '../mastodon/types.ts';
import { type ScopeFlags, scopePasses, scopeProblem } from '../run/scope.ts';
import { parseTypes } from '../run/tables.ts';
import type { VerifyCounters } from '../run/verify.ts';
import { problemCount, runVerify } from '../run/verify-run.ts';
import { ReportWriter } from '../transfer/report.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openCopySetup } from './copy-setup.ts';
import { openDatabase, type ReadFlags } from './open-database.ts';
import { count, textTable, writeChunk } from './output.ts';
import type { Interrupts } from './sync.ts';

export interface VerifyOptions extends ReadFlags, ScopeFlags {
  checksum?: boolean;
  acl?: boolean;
  publicUrl?: string;
  sample?: number;
  report?: string;
  json?: boolean;
  concurrency?: number;
}

function parsePublicUrl(value: string | undefined): string | null {
  if (value === undefined) return null;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return value.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(
      `--public-url ${JSON.stringify(value)}: expected an http(s) URL such as https://files.example.com`,
    );
  }
}

function render(
  byTable: ReadonlyMap<TableName, VerifyCounters>,
  totals: VerifyCounters,
  settings: { sample?: number; publicUrl: string | null },
): string {
  const line = (name: string, c: VerifyCounters) => [
    name,
    count(c.keys),
    count(c.keys - c.missingAtSource - problemCount(c)),
    count(c.absent),
    count(c.size),
    count(c.md5),
    count(c.contentType),
    count(c.public),
    count(c.acl),
    count(c.missingAtSource),
  ];
  const rows = [...byTable].map(([t, c]) => line(t, c));
  rows.push(line('total', totals));
  const problems = problemCount(totals);
  const inspected =
    settings.sample !== undefined
      ? `Content-Type${settings.publicUrl ? ' and public access' : ''} checked on a sample of ${count(totals.inspected)} keys`
      : `Content-Type${settings.publicUrl ? ' and public access' : ''} checked on every key in place (${count(totals.inspected)})`;
  return (
    textTable(
      ['table', 'keys', 'ok', 'absent', 'size', 'md5', 'type', 'public', 'acl', 'not at source'],
      rows,
    ) +
    `${inspected}. ${problems === 0 ? 'Everything is in place.' : `${count(problems)} problem(s): see --report.`}\n`
  );
}

export async function runVerifyCommand(
  ctx: CommandContext,
  types: readonly string[],
  options: VerifyOptions,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  parseTypes(types);
  const scope = scopeProblem(options);
  if (scope) throw new ConfigError(scope);
  const publicUrl = parsePublicUrl(options.publicUrl);
  // Reads only: the destination is checked for reading, never written.
  const { source, dest, destConfig, settings } = await openCopySetup(
    ctx,
    { ...options, dryRun: true },
    cleanup,
  );
  const { db, columns, tables, read, mastodon } = await openDatabase(ctx, types, options, cleanup);
  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());

  const {
    byTable,
    totals,
    problems: problemTotal,
    requests,
  } = await runVerify(
    { db, source, dest, report, abort: interrupts.abort.signal, stop: interrupts.stop.signal },
    {
      plan: {
        tables,
        columns,
        read,
        catalog: { keyPrefix: '', acl: destConfig.acl, rules: mastodon.rules },
        passes: scopePasses(options),
      },
      verifier: {
        checksum: Boolean(options.checksum),
        publicUrl,
        publicKeyPrefix: destConfig.type === 's3' ? destConfig.keyPrefix : '',
        checkAcl: Boolean(options.acl),
        cacheControl: destConfig.cacheControl,
        concurrency: settings.concurrency,
      },
      ...(options.sample !== undefined ? { sample: options.sample } : {}),
      retry: settings.retry,
      maxRequestsPerSecond: settings.maxRequestsPerSecond,
    },
  );
  await report?.close();

  if (options.json) {
    const summary = {
      ...totals,
      ok: totals.keys - totals.missingAtSource - problemTotal,
      problems: problemTotal,
      requests,
      tables: Object.fromEntries(byTable),
    };
    await writeChunk(process.stdout, `${JSON.stringify(summary)}\n`);
  } else {
    await writeChunk(
      process.stdout,
      render(byTable, totals, {
        ...(options.sample !== undefined ? { sample: options.sample } : {}),
        publicUrl,
      }),
    );
    ctx.log.info({ requests }, 'verify requests');
  }
  if (interrupts.stop.signal.aborted) return 130;
  return problemTotal > 0 ? 1 : 0;
}
