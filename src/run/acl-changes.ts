/**
 * ACL changes reaching the destination on later runs. Mastodon changes the ACL of objects
 * that already exist when an account is suspended or unsuspended (SuspendAccountService,
 * UnsuspendAccountService) and when a reported post is removed (RemoveStatusService, 4.4+):
 * nothing in the rows' ids or `*_updated_at` shows it, and a copied object is skipped by size.
 *
 * So each sync records which accounts were suspended and which statuses with media were
 * discarded when it started (the state file), and the next sync compares: the media of every
 * account or status whose state changed in between get their ACL set again (PutObjectAcl),
 * as the catalog computes it now — private, or the configured ACL on unsuspension. Cost: two
 * queries per run plus one listing and one PutObjectAcl per object of a changed owner; nothing
 * for unchanged ones.
 */
import type { MastodonDatabase } from '../db/database.ts';
import { discardedStatusesQuery, suspendedAccountsQuery } from '../db/queries/keyset.ts';
import type { ReadOptions } from '../db/reader.ts';
import { Semaphore } from '../lib/semaphore.ts';
import type { Logger } from '../log.ts';
import type { CatalogOptions } from '../mastodon/types.ts';
import type { ObjectStore } from '../storage/types.ts';
import { type LookupContext, lookupKeys } from '../transfer/lookup.ts';
import { enumerateKeys } from './enumerate.ts';
import { readState, recordPrivateOwners } from './state.ts';

/** Who was private at a run's start (ids as strings, sorted). */
export interface PrivateOwners {
  suspendedAccounts: string[];
  discardedStatuses: string[];
}

export async function readPrivateOwners(db: MastodonDatabase, read: ReadOptions): Promise<PrivateOwners> {
  const schema = db.config.schema;
  const ids = async (sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id).sort();
  return {
    suspendedAccounts: read.suspendedColumn
      ? await ids(suspendedAccountsQuery(schema, read.suspendedColumn))
      : [],
    discardedStatuses: read.statusDiscarded ? await ids(discardedStatusesQuery(schema)) : [],
  };
}

/** Ids in exactly one of the two lists: their state changed. */
function changed(before: readonly string[], now: readonly string[]): string[] {
  const a = new Set(before);
  const b = new Set(now);
  return [...new Set([...before, ...now])].filter((id) => a.has(id) !== b.has(id));
}

export function changedOwners(
  before: PrivateOwners,
  now: PrivateOwners,
): { accounts: string[]; statuses: string[] } {
  return {
    accounts: changed(before.suspendedAccounts, now.suspendedAccounts),
    statuses: changed(before.discardedStatuses, now.discardedStatuses),
  };
}

export interface ReapplyDeps {
  db: MastodonDatabase;
  dest: ObjectStore;
  columns: ReadonlySet<string>;
  read: ReadOptions;
  catalog: CatalogOptions;
  lookup: LookupContext;
  concurrency: number;
  dryRun: boolean;
  log: Logger;
}

/** Sets the ACL of every stored object of the given owners' media; returns how many. */
export async function reapplyAcls(
  deps: ReapplyDeps,
  owners: { accounts: string[]; statuses: string[] },
): Promise<{ objects: number; failed: number }> {
  const result = { objects: 0, failed: 0 };
  if (!deps.dest.setAcl || (owners.accounts.length === 0 && owners.statuses.length === 0)) return result;
  const slots = new Semaphore(deps.concurrency);
  const read: ReadOptions = { ...deps.read, owners };
  for await (const batch of enumerateKeys(deps.db, 'media_attachments', deps.columns, read, deps.catalog)) {
    const present = await lookupKeys(
      deps.dest,
      batch.keys.map((k) => k.key),
      deps.lookup,
    );
    await Promise.all(
      batch.keys
        .filter((k) => present.has(k.key) && k.acl !== null)
        .map((k) =>
          slots.run(async () => {
            try {
              if (!deps.dryRun)
                await deps.lookup.retry(() => deps.dest.setAcl!(k.key, k.acl!, deps.lookup.signal));
              result.objects++;
            } catch (error) {
              result.failed++;
              deps.log.warn({ key: k.key, err: (error as Error).message }, 'could not set the ACL');
            }
          }),
        ),
    );
  }
  return result;
}

/**
 * Re-applies the ACL of media whose account's suspension or status' discard changed since the
 * last sync, then records who is private now in the state file (`statePath`).
 */
export async function followAclChanges(
  statePath: string,
  ownersNow: PrivateOwners,
  deps: ReapplyDeps,
): Promise<{ objects: number; failed: number }> {
  const before = readState(statePath).privateOwners;
  let result = { objects: 0, failed: 0 };
  if (before) {
    const owners = changedOwners(before, ownersNow);
    if (owners.accounts.length + owners.statuses.length > 0) {
      result = await reapplyAcls(deps, owners);
      deps.log.info(
        {
          accounts: owners.accounts.length,
          statuses: owners.statuses.length,
          objects: result.objects,
          failed: result.failed,
        },
        deps.dryRun
          ? 'ACLs that would be re-applied: media of accounts or statuses whose state changed since the last sync'
          : 'ACLs re-applied: media of accounts or statuses whose state changed since the last sync',
      );
    }
  }
  if (!deps.dryRun && result.failed === 0) recordPrivateOwners(statePath, ownersNow);
  return result;
}
