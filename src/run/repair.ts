/**
 * `repair`: objects the destination already holds get the Content-Type, Cache-Control and ACL
 * Mastodon means them to have, fixed in place — never by downloading.
 *
 * Per key the database references: the listing (one LIST per up to 1,000 keys) says whether
 * the object is there; a HEAD reads its Content-Type and Cache-Control and, where the config
 * sends ACLs, GetObjectAcl who may read it. Then at most one write:
 * - Content-Type or Cache-Control wrong: CopyObject onto itself with MetadataDirective
 *   REPLACE, carrying the right ACL too (a copy would otherwise reset it to private);
 * - only the ACL wrong: PutObjectAcl;
 * - all right: nothing.
 * A missing object is reported (sync copies it). A fatal answer to a write (the destination
 * refuses CopyObject or ACL changes) ends the run: the same answer would come for every key.
 */

import { Semaphore } from '../lib/semaphore.ts';
import { attachmentPrefix } from '../mastodon/paperclip.ts';
import type { CatalogKey } from '../mastodon/types.ts';
import { type AccessClass, accessOfCannedAcl } from '../storage/acl.ts';
import { StoreError } from '../storage/errors.ts';
import type { ObjectStore, StoredMetadata } from '../storage/types.ts';
import { type LookupContext, lookupKeys } from '../transfer/lookup.ts';

export type RepairField = 'contentType' | 'cacheControl' | 'acl';
export type RepairAction = 'none' | 'replace-metadata' | 'set-acl';

export interface RepairDecision {
  wrong: Partial<Record<RepairField, { was: string; want: string }>>;
  action: RepairAction;
}

const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);
const mediaType = (value: string | undefined) => (value ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * What is wrong with a stored object and the one write that fixes it (pure).
 * - Content-Type: wrong when it differs from the type Mastodon writes; never "fixed" towards a
 *   generic type (the catalog does not know better than what is stored).
 * - Cache-Control: wrong when it differs from the configured one ([s3.destination] cache_control);
 *   an empty setting leaves it alone.
 * - ACL: compared as public access (storage/acl.ts); `expectedAcl` null (provider without ACLs)
 *   leaves it alone.
 */
export function decideRepair(
  expected: { contentType: string; cacheControl: string; acl: string | null },
  stored: StoredMetadata,
): RepairDecision {
  const wrong: RepairDecision['wrong'] = {};
  const want = mediaType(expected.contentType);
  if (!GENERIC_TYPES.has(want) && mediaType(stored.contentType) !== want) {
    wrong.contentType = { was: stored.contentType ?? '', want: expected.contentType };
  }
  if (expected.cacheControl !== '' && (stored.cacheControl ?? '') !== expected.cacheControl) {
    wrong.cacheControl = { was: stored.cacheControl ?? '', want: expected.cacheControl };
  }
  if (expected.acl !== null && stored.access !== undefined) {
    const wantAccess: AccessClass = accessOfCannedAcl(expected.acl);
    if (stored.access !== wantAccess) wrong.acl = { was: stored.access, want: wantAccess };
  }
  const action: RepairAction =
    wrong.contentType || wrong.cacheControl ? 'replace-metadata' : wrong.acl ? 'set-acl' : 'none';
  return { wrong, action };
}

export interface RepairCounters {
  checked: number;
  fixed: number;
  alreadyRight: number;
  failed: number;
  missing: number;
  fields: Record<RepairField, number>;
}

export function emptyRepairCounters(): RepairCounters {
  return {
    checked: 0,
    fixed: 0,
    alreadyRight: 0,
    failed: 0,
    missing: 0,
    fields: { contentType: 0, cacheControl: 0, acl: 0 },
  };
}

export function addRepairCounters(total: RepairCounters, part: RepairCounters): void {
  total.checked += part.checked;
  total.fixed += part.fixed;
  total.alreadyRight += part.alreadyRight;
  total.failed += part.failed;
  total.missing += part.missing;
  for (const field of Object.keys(total.fields) as RepairField[]) total.fields[field] += part.fields[field];
}

/** One line of the report: what was wrong and what was done. */
export interface RepairOutcome {
  item: CatalogKey;
  status: 'fixed' | 'would-fix' | 'right' | 'missing' | 'failed';
  decision?: RepairDecision;
  error?: string;
}

export type RepairRequestKind = 'list' | 'head' | 'getAcl' | 'replaceMetadata' | 'setAcl';

export interface RepairDeps {
  dest: ObjectStore;
  signal?: AbortSignal;
  /** The run's retry policy around each request (throttling counted, Retry-After honoured). */
  retry<T>(fn: () => Promise<T>): Promise<T>;
  onRequest(kind: RepairRequestKind): void;
  onOutcome(outcome: RepairOutcome): Promise<void> | void;
}

export interface RepairSettings {
  cacheControl: string;
  concurrency: number;
  dryRun: boolean;
}

/** The destination refused a write outright: every other key would get the same answer. */
export class RepairRefused extends Error {}

export class Repairer {
  private readonly slots: Semaphore;
  constructor(
    private readonly deps: RepairDeps,
    private readonly settings: RepairSettings,
  ) {
    if (!deps.dest.metadataOf || !deps.dest.replaceMetadata || !deps.dest.setAcl)
      throw new Error(`${deps.dest.description} has no metadata to repair`);
    this.slots = new Semaphore(settings.concurrency);
  }

  /** Checks and fixes one batch of keys; counts into `counters`. Throws RepairRefused. */
  async repairBatch(keys: readonly CatalogKey[], counters: RepairCounters): Promise<void> {
    const lookup: LookupContext = {
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
      onRequest: (kind) => this.deps.onRequest(kind),
      retry: (fn) => this.deps.retry(fn),
      groupOf: attachmentPrefix,
    };
    const present = await lookupKeys(
      this.deps.dest,
      keys.map((k) => k.key),
      lookup,
    );
    let refused: RepairRefused | null = null;
    await Promise.all(
      keys.map((item) =>
        this.slots.run(async () => {
          if (refused || this.deps.signal?.aborted) return;
          if (!present.has(item.key)) {
            counters.missing++;
            await this.deps.onOutcome({ item, status: 'missing' });
            return;
          }
          try {
            await this.repairOne(item, counters);
          } catch (error) {
            if (error instanceof RepairRefused) refused ??= error;
            else throw error;
          }
        }),
      ),
    );
    if (refused) throw refused;
  }

  private async repairOne(item: CatalogKey, counters: RepairCounters): Promise<void> {
    const { dest } = this.deps;
    const withAcl = item.acl !== null;
    let decision: RepairDecision | undefined;
    try {
      this.deps.onRequest('head');
      if (withAcl) this.deps.onRequest('getAcl');
      const stored = await this.deps.retry(() => dest.metadataOf!(item.key, withAcl, this.deps.signal));
      counters.checked++;
      if (!stored) {
        counters.missing++; // removed since the listing
        await this.deps.onOutcome({ item, status: 'missing' });
        return;
      }
      decision = decideRepair(
        { contentType: item.contentType, cacheControl: this.settings.cacheControl, acl: item.acl },
        stored,
      );
      if (decision.action === 'none') {
        counters.alreadyRight++;
        await this.deps.onOutcome({ item, status: 'right', decision });
        return;
      }
      for (const field of Object.keys(decision.wrong) as RepairField[]) counters.fields[field]++;
      if (!this.settings.dryRun) await this.apply(item, stored, decision);
      counters.fixed++;
      await this.deps.onOutcome({ item, status: this.settings.dryRun ? 'would-fix' : 'fixed', decision });
    } catch (error) {
      if (error instanceof RepairRefused) throw error;
      // Refused outright (no permission for HEAD or GetObjectAcl, not implemented): the same
      // answer would come for every key.
      if (error instanceof StoreError && error.kind === 'fatal' && !this.deps.signal?.aborted)
        throw new RepairRefused(`the destination refused to read ${item.key}: ${error.message}`);
      counters.failed++;
      await this.deps.onOutcome({
        item,
        status: 'failed',
        ...(decision ? { decision } : {}),
        error: (error as Error).message,
      });
    }
  }

  private async apply(item: CatalogKey, stored: StoredMetadata, decision: RepairDecision): Promise<void> {
    const { dest, signal } = this.deps;
    try {
      if (decision.action === 'replace-metadata') {
        this.deps.onRequest('replaceMetadata');
        const contentType = decision.wrong.contentType
          ? item.contentType
          : (stored.contentType ?? item.contentType);
        const cacheControl = decision.wrong.cacheControl
          ? this.settings.cacheControl
          : (stored.cacheControl ?? this.settings.cacheControl);
        await this.deps.retry(() =>
          dest.replaceMetadata!(item.key, { contentType, cacheControl, acl: item.acl }, signal),
        );
      } else {
        this.deps.onRequest('setAcl');
        await this.deps.retry(() => dest.setAcl!(item.key, item.acl!, signal));
      }
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'fatal' && !signal?.aborted) {
        throw new RepairRefused(`the destination refused to change ${item.key}: ${error.message}`);
      }
      throw error;
    }
  }
}
