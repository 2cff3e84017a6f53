/**
 * What a store holds for a batch of keys, as cheaply as the store allows.
 *
 * S3 (listing is cheap): keys of a batch are grouped by their attachment prefix
 * (`[cache/]<table>/<attachment>/`), sorted, and resolved with ListObjectsV2 pages that start
 * just before the first unresolved key (StartAfter, never continuation tokens). One page of up
 * to 1,000 keys answers for up to 1,000 objects, so a re-run where everything is there costs
 * about one request per 1,000 objects, and a first run into an empty bucket one request per
 * batch. Each page resolves at least one key, so the worst case (a bucket full of unrelated
 * keys between ours) is one request per key, as HEAD would be.
 *
 * A page asks for about as many keys as are still unresolved (twice that, plus a few, for
 * unrelated keys between ours), not always 1,000: a page's cost grows with its length, and
 * a worker's batch of 20 keys would otherwise pay for 1,000.
 *
 * Filesystem (stat is cheaper than walking directories): one stat per key.
 */
import { compareUtf8 } from '../lib/utf8.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';

export interface LookupContext {
  signal?: AbortSignal;
  /** Counts requests made. */
  onRequest(kind: 'list' | 'head'): void;
  /** Wraps each request in the run's retry policy. */
  retry<T>(fn: () => Promise<T>): Promise<T>;
  /** The prefix one listing covers for a key (default: its first two path segments). */
  groupOf?(key: string): string;
}

/**
 * The listing prefix a key is looked up under when the caller gives none: its first two path
 * segments. Callers that know the layout pass a better one (Mastodon's attachment prefix).
 */
export function firstTwoSegments(key: string): string {
  return `${key.split('/').slice(0, 2).join('/')}/`;
}

const byUtf8 = compareUtf8;

/** Keys asked for beyond twice the unresolved ones: room for a few keys that are not ours. */
const PAGE_SLACK = 16;
/** S3's largest page. */
const PAGE_MAX = 1000;

/** The page size to ask for while `unresolved` keys of a range are still to be found. */
export function pageSizeFor(unresolved: number): number {
  return Math.min(PAGE_MAX, unresolved * 2 + PAGE_SLACK);
}

/** The key minus its last character — a whole code point, never half a surrogate pair (an emoji). */
function withoutLastCharacter(key: string): string {
  const last = key.charCodeAt(key.length - 1);
  return key.slice(0, last >= 0xdc00 && last <= 0xdfff && key.length >= 2 ? -2 : -1);
}

async function listRange(
  store: ObjectStore,
  prefix: string,
  sortedKeys: readonly string[],
  found: Map<string, ObjectInfo>,
  ctx: LookupContext,
): Promise<void> {
  const wanted = new Set(sortedKeys);
  let next = 0;
  let cursor: string | undefined; // the last key listed so far
  while (next < sortedKeys.length) {
    // Start just below the first unresolved key (the key without its last character sorts
    // before it), or after the last listed key if that is further: every page moves forward.
    const floor = withoutLastCharacter(sortedKeys[next]!);
    const startAfter = cursor !== undefined && byUtf8(cursor, floor) > 0 ? cursor : floor;
    ctx.onRequest('list');
    const pageSize = pageSizeFor(sortedKeys.length - next);
    const page = await ctx.retry(() => store.list(prefix, startAfter, ctx.signal, pageSize));
    for (const item of page.items) if (wanted.has(item.key)) found.set(item.key, item);
    if (!page.truncated || page.items.length === 0) return; // everything from here on has been seen
    cursor = page.items[page.items.length - 1]!.key;
    while (next < sortedKeys.length && byUtf8(sortedKeys[next]!, cursor) <= 0) next++;
  }
}

async function headEach(
  store: ObjectStore,
  keys: readonly string[],
  found: Map<string, ObjectInfo>,
  ctx: LookupContext,
) {
  const parallel = 8;
  for (let i = 0; i < keys.length; i += parallel) {
    await Promise.all(
      keys.slice(i, i + parallel).map(async (key) => {
        ctx.onRequest('head');
        const info = await ctx.retry(() => store.head(key, ctx.signal));
        if (info) found.set(key, info);
      }),
    );
  }
}

/** The objects the store holds among `keys` (absent keys are simply not in the map). */
export async function lookupKeys(
  store: ObjectStore,
  keys: readonly string[],
  ctx: LookupContext,
): Promise<Map<string, ObjectInfo>> {
  const found = new Map<string, ObjectInfo>();
  if (keys.length === 0) return found;
  if (!store.features.listing) {
    await headEach(store, keys, found, ctx);
    return found;
  }
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const prefix = (ctx.groupOf ?? firstTwoSegments)(key);
    const group = groups.get(prefix);
    if (group) group.push(key);
    else groups.set(prefix, [key]);
  }
  // Groups are independent ranges: list them side by side (a few at a time).
  const pending = [...groups];
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const [prefix, group] = next;
      group.sort(byUtf8);
      await listRange(store, prefix, group, found, ctx);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, pending.length) }, worker));
  return found;
}
