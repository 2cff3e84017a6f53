/**
 * Which keys a run works on, and in what order (`--local-only`, `--remote-only`,
 * `--skip-remote-cache`). Local uploads are irreplaceable; remote cache can be re-fetched by
 * Mastodon (`tootctl media refresh`), so by default a run copies every local key first, then
 * the remote ones: a run cut short has secured what matters most.
 */
import type { CatalogKey, TableName } from '../mastodon/types.ts';

export interface ScopeFlags {
  localOnly?: boolean;
  remoteOnly?: boolean;
  skipRemoteCache?: boolean;
}

export interface Pass {
  name: 'local' | 'remote';
  keep: (key: CatalogKey) => boolean;
}

/**
 * What Mastodon's own cache clean-up treats as disposable (`tootctl media remove`,
 * `tootctl preview_cards remove`): remote media and preview cards. Remote avatars, headers and
 * emojis stay: they show on every profile and post and are not re-fetched on demand.
 */
const DISPOSABLE_CACHE: ReadonlySet<TableName> = new Set(['media_attachments', 'preview_cards']);

export function isDisposableCache(key: CatalogKey): boolean {
  return key.remote && DISPOSABLE_CACHE.has(key.table);
}

/** The passes over the database a run makes, in order (validated: the flags exclude each other). */
export function scopePasses(flags: ScopeFlags): Pass[] {
  const cache = flags.skipRemoteCache ? (key: CatalogKey) => !isDisposableCache(key) : () => true;
  if (flags.localOnly) return [{ name: 'local', keep: (k) => !k.remote }];
  if (flags.remoteOnly) return [{ name: 'remote', keep: (k) => k.remote && cache(k) }];
  // Local first, split by prefix: remote keys from before Mastodon 3.1.4 (not under `cache/`)
  // share their prefix with local uploads and go with them, so the two passes list disjoint
  // prefixes and a re-run costs no more requests than one pass.
  const cached = (k: CatalogKey) => k.key.startsWith('cache/');
  return [
    { name: 'local', keep: (k) => !cached(k) && (!k.remote || cache(k)) },
    { name: 'remote', keep: (k) => cached(k) && cache(k) },
  ];
}

/** A usage problem with the scope flags, or null. */
export function scopeProblem(flags: ScopeFlags): string | null {
  if (flags.localOnly && flags.remoteOnly) return '--local-only and --remote-only exclude each other';
  if (flags.localOnly && flags.skipRemoteCache) return '--skip-remote-cache means nothing with --local-only';
  return null;
}
