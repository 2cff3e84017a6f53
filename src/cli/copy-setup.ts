/**
 * What every copying command shares (sync, jobs --dev, worker): both stores opened and checked
 * before any work, and the copier settings resolved from flags and config.
 */
import { getSection } from '../config/load.ts';
import { CELERY, SYNC } from '../config/schema.ts';
import { type StoreConfig, storeConfig } from '../config/stores.ts';
import { ServiceError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, withRetries } from '../lib/retry.ts';
import type { CopierSettings } from '../run/copier.ts';
import { StoreError } from '../storage/errors.ts';
import { openStore } from '../storage/open.ts';
import type { ObjectStore } from '../storage/types.ts';
import { FileUploadJournal, journalDir } from '../storage/upload-journal.ts';
import type { Cleanup, CommandContext } from './context.ts';

export interface CopyFlags {
  concurrency?: number;
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

/** Whether a server-side copy is possible: both S3, same account (endpoint, region, keys). */
function serverSideAllowed(
  mode: 'auto' | 'always' | 'never',
  source: StoreConfig,
  dest: StoreConfig,
): boolean {
  if (mode === 'never' || source.type !== 's3' || dest.type !== 's3') return false;
  return mode === 'always' || source.accountId === dest.accountId;
}

export async function checkStore(store: ObjectStore, role: string, write: boolean): Promise<void> {
  try {
    // A throttled or flaky store is asked again (a few times, briefly); a wrong bucket or
    // refused credentials fail at once.
    await withRetries(
      { ...DEFAULT_RETRY_POLICY, retries: 3 },
      {
        classify: (e) => ({
          retry: e instanceof StoreError && (e.kind === 'retryable' || e.kind === 'throttled'),
        }),
      },
      () => store.check({ write }),
    );
  } catch (error) {
    const message = error instanceof StoreError ? error.message : (error as Error).message;
    throw new ServiceError(`${role}: ${message}`);
  }
}

/**
 * Aborts the multipart uploads that runs killed on this host left open (see upload-journal.ts):
 * they would cost storage and never show in a listing.
 */
async function abortLeftovers(
  ctx: CommandContext,
  dest: ObjectStore,
  journal: FileUploadJournal,
): Promise<void> {
  const { uploads, files } = journal.leftovers();
  if (uploads.length === 0 || !dest.abortUpload) {
    journal.forget(files);
    return;
  }
  let aborted = 0;
  const failed: string[] = [];
  for (const upload of uploads) {
    try {
      await dest.abortUpload(upload.key, upload.uploadId);
      aborted++;
    } catch (error) {
      failed.push(`${upload.key} (${(error as Error).message})`);
      journal.started(upload.key, upload.uploadId); // carried over: the next run tries again
    }
  }
  ctx.log.info({ aborted, failed: failed.length }, 'aborted multipart uploads left open by an earlier run');
  if (failed.length > 0) {
    ctx.log.warn(
      `could not abort ${failed.length} leftover multipart upload(s); the provider may bill their parts: ${failed.slice(0, 3).join('; ')}`,
    );
  }
  journal.forget(files);
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
  defaultConcurrency?: number,
): Promise<CopySetup> {
  const sync = getSection(ctx.file, SYNC, false);
  const celery = getSection(ctx.file, CELERY, false);
  const sourceConfig = storeConfig(ctx.file, 'source');
  const destConfig = storeConfig(ctx.file, 'destination');
  const concurrency = flags.concurrency ?? defaultConcurrency ?? sync.concurrency ?? celery.concurrency ?? 16;

  const tuning = { concurrency, multipartThreshold: sync.multipart_threshold, partSize: sync.part_size };
  const journal = flags.dryRun ? null : new FileUploadJournal(journalDir(ctx.file.path));
  const source = openStore(sourceConfig, tuning);
  const dest = openStore(destConfig, journal ? { ...tuning, journal } : tuning);
  cleanup.add(() => source.close());
  cleanup.add(async () => {
    await dest.close();
    journal?.close();
  });
  await checkStore(source, `source ${source.description}`, false);
  await checkStore(dest, `destination ${dest.description}`, !flags.dryRun);
  if (journal) await abortLeftovers(ctx, dest, journal);

  return {
    source,
    dest,
    sourceConfig,
    destConfig,
    settings: {
      force: Boolean(flags.force),
      checksum: Boolean(flags.checksum),
      dryRun: Boolean(flags.dryRun),
      concurrency,
      retry: { ...DEFAULT_RETRY_POLICY, retries: sync.retries },
      serverSide: serverSideAllowed(sync.server_side_copy, sourceConfig, destConfig),
      cacheControl: destConfig.cacheControl,
      maxRequestsPerSecond: sync.max_requests_per_second,
    },
  };
}
