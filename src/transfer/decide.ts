/**
 * Whether one object needs copying — pure, so every rule is table-tested without a store.
 *
 * - Not at the source: `missing` (reported, never retried).
 * - `--force`: copy whatever the destination holds.
 * - Not at the destination: copy.
 * - Different size: copy (a truncated or different object).
 * - `--checksum` and both sides have an MD5 ETag (single-part uploads): copy if they differ.
 *   Multipart ETags (`<md5>-<parts>`) and stores without ETags fall back to size, as rclone does.
 * - Otherwise: skip, the destination already holds it.
 */
import type { ObjectInfo } from '../storage/types.ts';

export type Action = 'copy' | 'skip' | 'missing';

export interface Decision {
  action: Action;
  reason: string;
}

export interface DecideOptions {
  force: boolean;
  checksum: boolean;
}

const MD5_ETAG = /^[0-9a-f]{32}$/i;

export function md5FromEtag(etag: string | undefined): string | undefined {
  return etag !== undefined && MD5_ETAG.test(etag) ? etag.toLowerCase() : undefined;
}

export function decide(
  source: ObjectInfo | null,
  destination: ObjectInfo | null,
  options: DecideOptions,
): Decision {
  if (source === null) return { action: 'missing', reason: 'not found at the source' };
  if (options.force) return { action: 'copy', reason: 'forced' };
  if (destination === null) return { action: 'copy', reason: 'not at the destination' };
  if (destination.size !== source.size) {
    return {
      action: 'copy',
      reason: `size differs (${destination.size} at the destination, ${source.size} at the source)`,
    };
  }
  if (options.checksum) {
    const sourceMd5 = md5FromEtag(source.etag);
    const destinationMd5 = md5FromEtag(destination.etag);
    if (sourceMd5 && destinationMd5 && sourceMd5 !== destinationMd5)
      return { action: 'copy', reason: 'MD5 differs' };
    if (sourceMd5 && destinationMd5) return { action: 'skip', reason: 'same size and MD5' };
  }
  return { action: 'skip', reason: 'same size' };
}
