/**
 * Whether a run may copy inside the provider (CopyObject) instead of streaming: decided from
 * the two stores' configs, as rclone's operations/copy.go decides with SameConfig; a store
 * only says whether it is able (`copyFrom` resolving false).
 */
import type { StoreConfig } from '../config/stores.ts';

/** Whether a server-side copy is possible: both S3, same account (endpoint, region, keys). */
export function serverSideAllowed(
  mode: 'auto' | 'always' | 'never',
  source: StoreConfig,
  dest: StoreConfig,
): boolean {
  if (mode === 'never' || source.type !== 's3' || dest.type !== 's3') return false;
  return mode === 'always' || source.accountId === dest.accountId;
}
