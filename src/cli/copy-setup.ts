/**
 * What every copying command shares (sync, jobs --dev, worker): both stores opened and checked
 * before any work, and the copier settings resolved from flags and config.
 */
import { getSection } from '../config/load.ts';
import { CELERY, SYNC } from '../config/schema.ts';
import { type StoreConfig, storeConfig } from '../config/stores.ts';
import { ServiceError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/retry.ts';
import { allInOrder } from '../lib/settled.ts';
import type { CopierSettings } from '../run/copier.ts';
import { StoreError } from '../storage/errors.ts';
import { openStore } from '../storage/open.ts';
import type { ObjectStore } from '../storage/types.ts';
import { abortLeftoverUploads, FileUploadJournal, journalDir } from '../storage/upload-journal.ts';
import { storeRequest } from '../transfer/requests.ts';
import { serverSideAllowed } from '../transfer/server-side.ts';
import type { Cleanup, CommandContext } from './context.ts';

export interface CopyFlags {
  concurrency?: number | 'auto';
  dryRun?: boolean;
  force?: boolean;
  checksum?: boolean;
}

export interface CopySetup {
  source: ObjectStore;
  dest: ObjectStore;
  sourceConfig: StoreConfig;
  destConfig: StoreConfig;
  settings: CopierSettings;
}

/** Where concurrency = auto starts; the copier's pool raises it while objects/s rises. */
export const AUTO_CONCURRENCY_START = 8;
/** What commands without an auto-tuned pool (verify, repair) use for concurrency = auto. */
const UNTUNED_AUTO_CONCURRENCY = 16;

/** A command's concurrency setting: a fixed number, or the word auto. */
export type ConcurrencySetting = number | 'auto';

/** The fixed number a command without an auto-tuned pool uses for a setting. */
export function fixedConcurrency(setting: ConcurrencySetting): number {
  return setting === 'auto' ? UNTUNED_AUTO_CONCURRENCY : setting;
}

export async function checkStore(store: ObjectStore, role: string, write: boolean): Promise<void> {
  try {
    // A throttled or flaky store is asked again (a few times, briefly); a wrong bucket or
    // refused credentials fail at once.
    await storeRequest({ retry: { ...DEFAULT_RETRY_POLICY, retries: 3 } }, () => store.check({ write }));
  } catch (error) {
    const message = error instanceof StoreError ? error.message : (error as Error).message;
    throw new ServiceError(`${role}: ${message}`);
  }
}

/**
 * Validates the store sections, opens both stores (closed by `cleanup`) and checks them: a
 * missing bucket or refused credentials fail here, before anything is copied.
 * `defaultConcurrency` is the command's own setting ([sync] or [queue] concurrency).
 */
export async function openCopySetup(
  ctx: CommandContext,
  flags: CopyFlags,
  cleanup: Cleanup,
  defaultConcurrency?: ConcurrencySetting,
): Promise<CopySetup> {
  const prepared = prepareCopySetup(ctx, flags, cleanup, defaultConcurrency);
  await prepared.check();
  return prepared.setup;
}

/**
 * openCopySetup in two halves, for a command that checks the stores while it connects to the
 * database: the config read and the stores opened now (a wrong value throws here, before any
 * connection is made), the round trips in `check`.
 */
export function prepareCopySetup(
  ctx: CommandContext,
  flags: CopyFlags,
  cleanup: Cleanup,
  defaultConcurrency?: ConcurrencySetting,
): { setup: CopySetup; check(): Promise<void> } {
  const sync = getSection(ctx.file, SYNC, false);
  const celery = getSection(ctx.file, CELERY, false);
  const sourceConfig = storeConfig(ctx.file, 'source');
  const destConfig = storeConfig(ctx.file, 'destination');
  const setting = flags.concurrency ?? defaultConcurrency ?? sync.concurrency ?? celery.concurrency ?? 16;
  const auto = setting === 'auto';
  const concurrency = auto ? Math.min(AUTO_CONCURRENCY_START, sync.max_concurrency) : setting;

  const tuning = {
    // Sockets for the most copies that may run at once.
    concurrency: auto ? sync.max_concurrency : concurrency,
    multipartThreshold: sync.multipart_threshold,
    partSize: sync.part_size,
  };
  const journal = flags.dryRun ? null : new FileUploadJournal(journalDir(ctx.file.path));
  const source = openStore(sourceConfig, tuning);
  const dest = openStore(destConfig, journal ? { ...tuning, journal } : tuning);
  cleanup.add(() => source.close());
  cleanup.add(async () => {
    await dest.close();
    journal?.close();
  });
  const check = async () => {
    await allInOrder([
      checkStore(source, `source ${source.description}`, false),
      checkStore(dest, `destination ${dest.description}`, !flags.dryRun),
    ]);
    if (journal) await abortLeftoverUploads(dest, journal, ctx.log);
  };

  return {
    setup: {
      source,
      dest,
      sourceConfig,
      destConfig,
      settings: {
        force: Boolean(flags.force),
        checksum: Boolean(flags.checksum),
        dryRun: Boolean(flags.dryRun),
        concurrency,
        ...(auto ? { maxConcurrency: sync.max_concurrency } : {}),
        retry: { ...DEFAULT_RETRY_POLICY, retries: sync.retries },
        serverSide: serverSideAllowed(sync.server_side_copy, sourceConfig, destConfig),
        cacheControl: destConfig.cacheControl,
        maxRequestsPerSecond: sync.max_requests_per_second,
      },
    },
    check,
  };
}
