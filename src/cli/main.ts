/**
 * The command line. Each command loads only the config sections it needs, reports problems
 * as one line (exit 2 for config/usage, 1 for runtime), and closes what it opened on exit
 * and on Ctrl-C.
 */
import { setMaxListeners } from 'node:events';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors.ts';
import { runConfigCheck } from './config-check.ts';
import { Cleanup, type CommandContext, type GlobalOptions, loadContext } from './context.ts';
import type { DashboardFlags } from './dashboard.ts';
import type { FollowFlags } from './follow.ts';
import type { OrphansOptions } from './orphans.ts';
import { guardBrokenPipe, OutputClosed } from './output.ts';
import { type PlanOptions, runPlanCommand } from './plan.ts';
import type { JobsOptions, WorkerOptions } from './queue.ts';
import type { RepairOptions } from './repair.ts';
import type { Interrupts, SyncOptions } from './sync.ts';
import type { VerifyOptions } from './verify.ts';

const PROGRAM = 'mastodon-s3-sync';

function wholeNumber(min: number) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    }
    return Number(value);
  };
}

/** --concurrency: a whole number ≥ 1, or auto. */
function concurrencyValue(value: string): number | 'auto' {
  if (value.trim().toLowerCase() === 'auto') return 'auto';
  try {
    return wholeNumber(1)(value);
  } catch {
    throw new InvalidArgumentError('expected auto or a whole number ≥ 1');
  }
}

function rowId(value: string): string {
  if (!/^\d{1,19}$/.test(value)) throw new InvalidArgumentError('expected a row id (digits only)');
  return value;
}

function addReadOptions(command: Command): Command {
  return command
    .option('--limit <n>', 'read at most N rows per table', wholeNumber(1))
    .option('--offset <n>', 'skip the first N rows of each table', wholeNumber(0))
    .option('--since-id <id>', 'start after this row id (resume)', rowId)
    .option(
      '--batch-size <n>',
      'rows per database query (default: [pg.database] batch_size)',
      wholeNumber(1),
    );
}

interface Running {
  cleanup: Cleanup;
  exitCode: number;
}

/**
 * Runs a command body with uniform error handling and cleanup. Without `interrupts`, Ctrl-C
 * closes what was opened and exits 130. With them (sync), the first Ctrl-C stops reading new
 * rows and lets in-flight copies finish, the second aborts them; the command then prints its
 * summary and returns.
 */
async function execute(
  running: Running,
  body: () => Promise<number>,
  interrupts?: Interrupts,
): Promise<void> {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (interrupts && count === 1) {
      const next = interrupts.stopMessage ?? 'finishing copies in flight (again to abort them)';
      process.stderr.write(`${PROGRAM}: ${signal}: ${next}\n`);
      interrupts.stop.abort();
      return;
    }
    if (interrupts && count === 2) {
      process.stderr.write(`${PROGRAM}: ${signal}: aborting copies in flight\n`);
      interrupts.abort.abort();
      return;
    }
    process.stderr.write(`${PROGRAM}: interrupted (${signal}), stopping\n`);
    void running.cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running.exitCode = await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await running.cleanup.run();
  }
}

function newInterrupts(): Interrupts {
  const interrupts = { stop: new AbortController(), abort: new AbortController() };
  // Every request in flight listens on these signals: hundreds at a time is expected.
  setMaxListeners(0, interrupts.stop.signal, interrupts.abort.signal);
  return interrupts;
}

function addSyncOptions(command: Command): Command {
  return addReadOptions(command)
    .option(
      '--concurrency <n>',
      'objects copied at once, or auto: raised while objects/s rises, up to [sync] max_concurrency (default: [sync] concurrency, else [celery] concurrency, else 16)',
      concurrencyValue,
    )
    .option('--dry-run', 'do everything except writing: list, compare, count what would be copied')
    .option('--force', 'copy even what the destination already holds')
    .option('--checksum', 'also compare MD5/ETag, not only size, to decide what to skip')
    .option('--report <file>', 'write one NDJSON line per key not copied (missing, failed), with the reason')
    .option('--json', 'print the final summary as one JSON object on stdout')
    .option('--no-progress', 'no live progress on the terminal (log lines instead)')
    .option(
      '--since <time>',
      'delta sync: only records changed since TIME (ISO time, a duration such as 6h or 2d, or "last": the start of the last completed sync)',
    )
    .option('--local-only', 'only local uploads (irreplaceable); default: local first, then remote cache')
    .option('--remote-only', 'only remote cache (Mastodon can re-fetch it with tootctl media refresh)')
    .option(
      '--skip-remote-cache',
      'skip remote media and preview cards (disposable cache); keep remote avatars, headers, emojis',
    );
}

/** `--metrics-port`/`--metrics-host` (sync, worker): Prometheus metrics of this process. */
function addMetricsOptions(command: Command): Command {
  return command
    .option(
      '--metrics-port <n>',
      "serve this process' Prometheus metrics at http://127.0.0.1:N/metrics",
      wholeNumber(0),
    )
    .option(
      '--metrics-host <host>',
      'with --metrics-port: listen there instead (off loopback only with [dashboard] user and password: basic auth)',
    );
}

function buildProgram(running: Running): Command {
  const program = new Command(PROGRAM)
    .description('Copy every media object a Mastodon server references from one object store to another.')
    .option(
      '-c, --config <file>',
      'config file (default: $CONFIG_FILE, else private/$CONFIG_FILE_NAME, else private/config.ini)',
    )
    .option('--log-level <level>', 'debug, info, warn, error (default: [celery] log_level, else info)')
    .addOption(
      new Option('--log-format <format>', 'log lines on stderr').choices(['text', 'json']).default('text'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  const globals = () => program.opts<GlobalOptions>();
  // Loaded on demand: the copy engine (AWS SDK) costs memory that `plan` does not need.
  /** Runs a long command body with two-stage Ctrl-C (see execute) and a fresh context. */
  const interruptible = async (
    body: (ctx: CommandContext, interrupts: Interrupts) => Promise<number>,
  ): Promise<void> => {
    const interrupts = newInterrupts();
    await execute(running, () => body(loadContext(globals()), interrupts), interrupts);
  };
  const runSync = (types: string[], options: SyncOptions & FollowFlags) =>
    interruptible(async (ctx, interrupts) => {
      if (options.follow || options.interval !== undefined || options.until !== undefined) {
        return (await import('./follow.ts')).runFollowCommand(
          ctx,
          types,
          options,
          running.cleanup,
          interrupts,
        );
      }
      return (await import('./sync.ts')).runSyncCommand(ctx, types, options, running.cleanup, interrupts);
    });

  addReadOptions(
    program
      .command('plan')
      .description('List every object key the database references (stdout), without touching any store.')
      .argument(
        '[type...]',
        'tables to list (default: all present): media_attachments accounts custom_emojis preview_cards preview_card_providers site_uploads backups imports',
      )
      .addOption(
        new Option(
          '--format <format>',
          'keys: one key per line; ndjson: one JSON object per key; summary: per-table counts',
        )
          .choices(['keys', 'ndjson', 'summary'])
          .default('keys'),
      )
      .option(
        '--key-prefix <prefix>',
        "prefix keys with Mastodon's S3_KEY_PREFIX (default: [s3.source] key_prefix)",
      ),
  ).action(async (types: string[], options: PlanOptions) => {
    await execute(running, async () => {
      const ctx = loadContext(globals());
      guardBrokenPipe(process.stdout, () => process.exit(0));
      return runPlanCommand(ctx, types, options, process.stdout, running.cleanup);
    });
  });

  addMetricsOptions(
    addSyncOptions(
      program
        .command('sync')
        .description(
          'Copy every object the database references from [s3.source] to [s3.destination], in this process.',
        )
        .argument('[type...]', 'tables to copy (default: all present)'),
    ),
  )
    .option(
      '--follow',
      'after the bulk copy, keep copying what changes in the database, pass after pass, until SIGTERM/Ctrl-C or --until',
    )
    .option(
      '--interval <duration>',
      'with --follow: wait between passes that find nothing to copy (default 30s)',
    )
    .option('--until <time>', 'with --follow: start no pass after TIME (ISO time, or a duration such as 6h)')
    .action(async (types: string[], options: SyncOptions & FollowFlags) => runSync(types, options));

  addReadOptions(
    program
      .command('jobs')
      .description(
        'The original tool\'s "add jobs": read the database and queue batches of keys on Redis (BullMQ), one queue per table, for `worker` processes. With --dev, run them inline instead (no queue).',
      )
      .argument('[type...]', 'tables (default: all present)'),
  )
    .option('--dev', 'run inline in this process instead of queueing (the original dev mode)')
    .option(
      '--retry-failed',
      'requeue exactly the keys of failed batches (or whole batches that never finished)',
    )
    .option(
      '--again',
      'forget which batches were queued or done (and failed jobs) and queue every batch again',
    )
    .option('--json', 'print what was queued as one JSON object on stdout')
    .option(
      '--follow',
      'after queueing everything, keep queueing what changes in the database, pass after pass (each waits for the workers), until SIGTERM/Ctrl-C or --until',
    )
    .option(
      '--interval <duration>',
      'with --follow: wait between passes that find nothing to copy (default 30s)',
    )
    .option('--until <time>', 'with --follow: start no pass after TIME (ISO time, or a duration such as 6h)')
    .option(
      '--since <time>',
      'with --follow: start from records changed since TIME (ISO, a duration, or "last") instead of the state file',
    )
    // Only with --dev (as sync):
    .option('--concurrency <n>', 'with --dev: objects copied at once', wholeNumber(1))
    .option('--dry-run', 'with --dev: write nothing')
    .option('--force', 'with --dev: copy even what the destination already holds')
    .option('--checksum', 'with --dev: also compare MD5/ETag')
    .option('--report <file>', 'with --dev: NDJSON of keys not copied')
    .option('--no-progress', 'with --dev: no live progress')
    .action(async (types: string[], options: SyncOptions & JobsOptions & FollowFlags & { dev?: boolean }) => {
      if (options.dev) {
        await runSync(types, options);
        return;
      }
      const following = options.follow || options.interval !== undefined || options.until !== undefined;
      await interruptible(async (ctx, interrupts) => {
        if (following || options.since !== undefined) {
          return (await import('./jobs-follow.ts')).runJobsFollowCommand(
            ctx,
            types,
            options,
            running.cleanup,
            interrupts,
          );
        }
        return (await import('./queue.ts')).runJobsCommand(ctx, types, options, running.cleanup, interrupts);
      });
    });

  addMetricsOptions(program.command('worker'))
    .description(
      "Copy the batches `jobs` queued (the original's Celery worker). Any number of workers, on any machines, against one Redis. SIGTERM/Ctrl-C lets batches in progress finish.",
    )
    .argument('[type...]', 'only these tables’ queues (default: all)')
    .option(
      '--concurrency <n>',
      'objects copied at once (default: [queue] concurrency, else [celery] concurrency, else 16)',
      wholeNumber(1),
    )
    .option('--checksum', 'also compare MD5/ETag, not only size, to decide what to skip')
    .option('--force', 'copy even what the destination already holds')
    .action(async (types: string[], options: WorkerOptions) => {
      await interruptible(async (ctx, interrupts) =>
        (await import('./queue.ts')).runWorkerCommand(ctx, types, options, running.cleanup, interrupts),
      );
    });

  program
    .command('dashboard')
    .description(
      "The web dashboard (the original's Flower): progress per table, workers, failures; Bull Board under /queues.",
    )
    .option('--host <host>', 'address to listen on (default: [dashboard] host, 127.0.0.1)')
    .option('--port <port>', 'port (default: [dashboard] port, 5555)', wholeNumber(0))
    .action(async (options: DashboardFlags) => {
      await interruptible(async (ctx, interrupts) =>
        (await import('./dashboard.ts')).runDashboardCommand(ctx, options, running.cleanup, interrupts),
      );
    });

  addReadOptions(
    program
      .command('verify')
      .description(
        'Check that the destination holds every key the database references: size (and MD5), a real Content-Type, and with --public-url what the public gets. Exit 1 when anything is wrong.',
      )
      .argument('[type...]', 'tables to check (default: all present)'),
  )
    .option('--checksum', 'also compare MD5 (single-part ETags)')
    .option(
      '--acl',
      'also read the ACL of each inspected object (GetObjectAcl, one request each): one that gives other access than Mastodon means is an "acl" problem',
    )
    .option(
      '--public-url <base>',
      'fetch each key anonymously from BASE (the new S3_ALIAS_HOST or CDN): 200, Content-Type, Cache-Control; private objects must be refused',
    )
    .option(
      '--sample <n>',
      'per-object checks (Content-Type, public access) on a random sample of N keys only',
      wholeNumber(1),
    )
    .option('--concurrency <n>', 'requests at once (default as sync)', wholeNumber(1))
    .option('--report <file>', 'one NDJSON line per problem')
    .option('--json', 'the summary as one JSON object on stdout')
    .option('--local-only', 'only local uploads')
    .option('--remote-only', 'only remote cache')
    .option('--skip-remote-cache', 'skip remote media and preview cards')
    .action(async (types: string[], options: VerifyOptions) => {
      await interruptible(async (ctx, interrupts) =>
        (await import('./verify.ts')).runVerifyCommand(ctx, types, options, running.cleanup, interrupts),
      );
    });

  addReadOptions(
    program
      .command('repair')
      .description(
        'Fix Content-Type, Cache-Control and ACL of objects the destination already holds, in place, without downloading. ' +
          'Cost per object: one LIST per up to 1,000 keys, one HEAD, one GetObjectAcl (none when [s3.destination] acl is empty), ' +
          'and at most one write for a wrong object (CopyObject onto itself with REPLACE, or PutObjectAcl); none for a right one. ' +
          'Missing objects are reported (run sync). Exit 1 when anything failed.',
      )
      .argument('[type...]', 'tables to repair (default: all present)'),
  )
    .option('--dry-run', 'check and report, change nothing')
    .option('--concurrency <n>', 'objects at once (default as sync)', wholeNumber(1))
    .option(
      '--report <file>',
      'one NDJSON line per object not already right: key, what was wrong, what was done',
    )
    .option('--json', 'the summary as one JSON object on stdout')
    .option('--restart', 'ignore the progress an interrupted repair saved; check everything again')
    .action(async (types: string[], options: RepairOptions) => {
      await interruptible(async (ctx, interrupts) =>
        (await import('./repair.ts')).runRepairCommand(ctx, types, options, running.cleanup, interrupts),
      );
    });

  program
    .command('orphans')
    .description(
      'List objects under Mastodon’s prefixes in [s3.source] that no database row references (read-only: never deletes).',
    )
    .argument('[type...]', 'tables whose prefixes to list (default: all present)')
    .addOption(
      new Option(
        '--format <format>',
        'summary: counts and bytes per prefix; keys: one orphan per line; ndjson',
      )
        .choices(['summary', 'keys', 'ndjson'])
        .default('summary'),
    )
    .option('--json', 'with --format summary: one JSON object')
    .action(async (types: string[], options: OrphansOptions) => {
      await interruptible(async (ctx, interrupts) => {
        guardBrokenPipe(process.stdout, () => process.exit(0));
        return (await import('./orphans.ts')).runOrphansCommand(
          ctx,
          types,
          options,
          process.stdout,
          running.cleanup,
          interrupts.abort.signal,
        );
      });
    });

  program
    .command('runbook')
    .description(
      'Print the migration steps for the configured stores: .env changes, CSP, delta sync, verify, nginx.',
    )
    .option('--alias-host <host>', "the new media host (Mastodon's S3_ALIAS_HOST), e.g. files.example.com")
    .action(async (options: { aliasHost?: string }) => {
      await execute(running, async () =>
        (await import('./runbook.ts')).runRunbookCommand(loadContext(globals()), options),
      );
    });

  program
    .command('status')
    .description('Print the distributed run’s progress (the counters the dashboard shows).')
    .option('--json', 'one JSON object on stdout')
    .action(async (options: { json?: boolean }) => {
      await execute(running, async () =>
        (await import('./queue.ts')).runStatusCommand(loadContext(globals()), options, running.cleanup),
      );
    });

  program
    .command('purge')
    .description('Remove every queue, job and counter under [queue] prefix (never touches a bucket).')
    .option('--yes', 'really do it')
    .action(async (options: { yes?: boolean }) => {
      await execute(running, async () =>
        (await import('./queue.ts')).runPurgeCommand(loadContext(globals()), options, running.cleanup),
      );
    });

  program
    .command('config')
    .description('Check the config file: every section is validated and a summary printed (secrets hidden).')
    .argument('[action]', 'check', 'check')
    .option('--no-database', 'do not connect to [pg.database] to tell the Mastodon version')
    .action(async (action: string, options: { database?: boolean }) => {
      if (action !== 'check') throw new UserError(`unknown config action "${action}" (known: check)`, 2);
      await execute(running, async () => runConfigCheck(loadContext(globals()), process.stdout, options));
    });

  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
    )
      return 0;
    return 2; // commander already printed the message
  }
  if (error instanceof OutputClosed) return 0;
  if (error instanceof UserError) {
    process.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${PROGRAM}: unexpected error: ${message.split('\n')[0]}\n`);
  if (process.env['MASTODON_S3_SYNC_DEBUG']) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  return 1;
}

export async function main(argv: readonly string[]): Promise<void> {
  const running: Running = { cleanup: new Cleanup(), exitCode: 0 };
  const program = buildProgram(running);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      process.exitCode = 2;
      return;
    }
    await program.parseAsync([...argv]);
    process.exitCode = running.exitCode;
  } catch (error) {
    process.exitCode = report(error);
  }
}
