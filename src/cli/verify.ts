/**
 * `verify [TYPE...]`: checks that the destination holds every key the database references,
 * with the source's size (and MD5 with --checksum) and a real Content-Type; with
 * `--public-url`, also as the public sees it. Exit 0 when all is well, 1 when anything is wrong.
 */
import { databaseConfig } from '../config/database.ts';
import { ConfigError } from '../errors.ts';
import { withRetries } from '../lib/retry.ts';
import { alternateKey } from '../mastodon/catalog.ts';
import type { CatalogKey, TableName } from '../mastodon/types.ts';
import { enumerateKeys } from '../run/enumerate.ts';
import { type ScopeFlags, scopePasses, scopeProblem } from '../run/scope.ts';
import { parseTypes } from '../run/tables.ts';
import {
  emptyVerifyCounters,
  Reservoir,
  Verifier,
  type VerifyCounters,
  type VerifyProblem,
} from '../run/verify.ts';
import { StoreError } from '../storage/errors.ts';
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

function problemCount(c: VerifyCounters): number {
  return c.absent + c.size + c.md5 + c.contentType + c.public + c.acl;
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
  const { db, columns, tables, read, mastodon } = await openDatabase(
    ctx,
    databaseConfig(ctx.file),
    types,
    options,
    cleanup,
  );
  const report = options.report ? new ReportWriter(options.report, ctx.redact) : null;
  if (report) cleanup.add(() => report.close());

  const signal = interrupts.abort.signal;
  const requests = { list: 0, head: 0, public: 0, acl: 0 };
  const verifier = new Verifier(
    source,
    dest,
    {
      checksum: Boolean(options.checksum),
      publicUrl,
      publicKeyPrefix: destConfig.type === 's3' ? destConfig.keyPrefix : '',
      checkAcl: Boolean(options.acl),
      cacheControl: destConfig.cacheControl,
      concurrency: settings.concurrency,
    },
    {
      signal,
      onRequest: (kind) => {
        if (kind === 'list') requests.list++;
        else requests.head++;
      },
      retry: (fn) =>
        withRetries(
          settings.retry,
          {
            signal,
            classify: (e) => ({
              retry: e instanceof StoreError && (e.kind === 'retryable' || e.kind === 'throttled'),
            }),
          },
          fn,
        ),
    },
    (kind) => {
      requests[kind]++;
    },
  );
  const byTable = new Map<TableName, VerifyCounters>();
  const problems: VerifyProblem[] = [];
  const flush = async () => {
    for (const p of problems.splice(0)) {
      const alt = p.kind === 'absent' ? alternateKey(p.item, columns.get(p.item.table)!) : null;
      await report?.add(p.item, p.kind, p.reason, alt ?? undefined);
    }
  };
  const sample = options.sample !== undefined ? new Reservoir<CatalogKey>(options.sample) : null;
  for (const pass of scopePasses(options)) {
    for (const table of tables) {
      if (interrupts.stop.signal.aborted) break;
      const counters = byTable.get(table) ?? emptyVerifyCounters();
      byTable.set(table, counters);
      for await (const batch of enumerateKeys(db, table, columns.get(table)!, read, {
        keyPrefix: '',
        acl: destConfig.acl,
        rules: mastodon.rules,
      })) {
        const inPlace = await verifier.checkListed(batch.keys.filter(pass.keep), counters, problems);
        if (sample) for (const item of inPlace) sample.add(item);
        else await verifier.inspect(inPlace, counters, problems);
        await flush();
        if (interrupts.stop.signal.aborted) break;
      }
    }
  }
  if (sample) {
    // Sampled keys are inspected at the end, attributed to their own tables.
    for (const item of sample.items) await verifier.inspect([item], byTable.get(item.table)!, problems);
    await flush();
  }
  await report?.close();

  const totals = emptyVerifyCounters();
  for (const c of byTable.values())
    for (const k of Object.keys(totals) as Array<keyof VerifyCounters>) totals[k] += c[k];
  const problemTotal = problemCount(totals);
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
