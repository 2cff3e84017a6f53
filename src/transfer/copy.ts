/**
 * Copying one object, in named steps: server-side copy when the run allows it, else stream
 * source → destination through a counting stream; verify the MD5 the destination reports when
 * both sides have one; retry transient failures; report a vanished source as missing.
 * Success is counted only after the store confirmed the whole object.
 */

import type { Readable } from 'node:stream';
import type { RateLimiter } from '../lib/rate.ts';
import type { RetryPolicy } from '../lib/retry.ts';
import type { Logger } from '../log.ts';
import type { CatalogKey } from '../mastodon/types.ts';
import { StoreError } from '../storage/errors.ts';
import { readExactly } from '../storage/exact-size.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { CountingStream } from './counting.ts';
import { md5FromEtag } from './decide.ts';
import { asStoreError, retryVerdict, storeRequest } from './requests.ts';
import type { Stats } from './stats.ts';

export interface CopyContext {
  source: ObjectStore;
  dest: ObjectStore;
  stats: Stats;
  signal: AbortSignal;
  log: Logger;
  retry: RetryPolicy;
  /** Copy inside the provider (the run decided both stores share an account). */
  serverSide: boolean;
  cacheControl: string;
  dryRun: boolean;
  rate: RateLimiter;
  /** Told about throttling and successes, to adapt concurrency. */
  pacer: { throttled(): void; succeeded(): void };
}

export interface CopyTask {
  item: CatalogKey;
  /** Where the object was found at the source: `item.key`, or its alternate location. */
  sourceKey: string;
  sourceInfo: ObjectInfo;
}

export type StoreSide = 'source' | 'destination';

export type CopyOutcome =
  | { status: 'copied'; bytes: number; attempts: number }
  | {
      status: 'missing' | 'failed';
      reason: string;
      attempts: number;
      /** The last error was retryable: another pass later may succeed. */
      retryable?: boolean;
      /** The store refused the whole run (storage/errors.ts `fatal`): which one. */
      fatal?: StoreSide;
    };

/** Which store the current step talks to, for naming the one that refused the run. */
interface Step {
  side: StoreSide;
}

const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** The source's Content-Type unless it is missing or generic; then the catalog's (§ known types). */
export function chooseContentType(fromSource: string | undefined, fromCatalog: string): string {
  const base = (fromSource ?? '').split(';')[0]!.trim().toLowerCase();
  return GENERIC_TYPES.has(base) ? fromCatalog : fromSource!;
}

/** Called only when the run allows server-side copy (copyObject checks `ctx.serverSide`). */
async function serverSideCopy(ctx: CopyContext, task: CopyTask, step: Step): Promise<boolean> {
  if (!ctx.dest.copyFrom) return false;
  // A listing gives no Content-Type, and the copy replaces the metadata (to set
  // Cache-Control and ACL): ask the source for its type first, so it is kept.
  let sourceType = task.sourceInfo.contentType;
  if (sourceType === undefined) {
    if (!ctx.rate.unlimited) await ctx.rate.take(ctx.signal);
    ctx.stats.request('head', 'source');
    step.side = 'source';
    const head = await ctx.source.head(task.sourceKey, ctx.signal);
    if (!head) throw new StoreError('gone', `HEAD ${task.sourceKey}: not found`);
    sourceType = head.contentType;
  }
  if (!ctx.rate.unlimited) await ctx.rate.take(ctx.signal);
  ctx.stats.request('copy', 'destination');
  step.side = 'destination';
  return ctx.dest.copyFrom(ctx.source, task.sourceKey, task.item.key, {
    size: task.sourceInfo.size,
    contentType: chooseContentType(sourceType, task.item.contentType),
    cacheControl: ctx.cacheControl,
    acl: task.item.acl,
    signal: ctx.signal,
  });
}

/**
 * Objects up to this size are read whole before their write (one buffer, one request, no
 * stream layers: the thumbnail profile's cheapest path); larger ones stream. 64 KB holds
 * thumbnails, avatars and emojis; at 256 KB the mix's whole-read images lived long enough to
 * be promoted to V8's old generation and cost about ten full GCs per 2,700 objects (two to four
 * at 64 KB, bench: --trace-gc). Memory for them is bounded by concurrency × this.
 */
export const BUFFERED_BODY_MAX = 64 * 1024;

async function streamCopy(ctx: CopyContext, task: CopyTask, step: Step): Promise<number> {
  if (!ctx.rate.unlimited) await ctx.rate.take(ctx.signal);
  ctx.stats.request('get', 'source');
  step.side = 'source';
  const { info, body } = await ctx.source.read(task.sourceKey, ctx.signal);
  let payload: Readable | Buffer;
  if (info.size <= BUFFERED_BODY_MAX) {
    payload = await readExactly(body, info.size);
    ctx.stats.bytesStreamed += info.size;
  } else {
    const counted = new CountingStream(info.size, (n) => {
      ctx.stats.bytesStreamed += n;
    });
    body.on('error', (error) => counted.destroy(asStoreError(error)));
    body.pipe(counted);
    payload = counted;
  }
  const md5 = md5FromEtag(info.etag);
  try {
    if (!ctx.rate.unlimited) await ctx.rate.take(ctx.signal);
    ctx.stats.request('put', 'destination');
    step.side = 'destination';
    const written = await ctx.dest.write(task.item.key, payload, {
      size: info.size,
      contentType: chooseContentType(info.contentType, task.item.contentType),
      cacheControl: ctx.cacheControl,
      acl: task.item.acl,
      ...(md5 ? { md5 } : {}),
      signal: ctx.signal,
    });
    const writtenMd5 = md5FromEtag(written.etag);
    if (md5 && writtenMd5 && md5 !== writtenMd5) {
      throw new StoreError('retryable', `MD5 after upload ${writtenMd5} differs from the source's ${md5}`);
    }
  } catch (error) {
    body.destroy();
    throw error;
  }
  return info.size;
}

export async function copyObject(ctx: CopyContext, task: CopyTask): Promise<CopyOutcome> {
  if (ctx.dryRun) return { status: 'copied', bytes: task.sourceInfo.size, attempts: 0 };
  let attempts = 0;
  const step: Step = { side: 'source' };
  try {
    const bytes = await storeRequest(
      {
        retry: ctx.retry,
        signal: ctx.signal,
        onThrottled: () => {
          ctx.stats.throttled++;
          ctx.pacer.throttled();
        },
        onRetry: (error, attempt, delayMs) => {
          ctx.stats.retries++;
          ctx.log.debug({ key: task.item.key, attempt, delayMs, err: error.message }, 'retrying');
        },
      },
      async (attempt) => {
        attempts = attempt;
        // Checked here, not inside: an async call per object costs a promise and a tick.
        if (ctx.serverSide && (await serverSideCopy(ctx, task, step))) return task.sourceInfo.size;
        return streamCopy(ctx, task, step);
      },
    );
    ctx.pacer.succeeded();
    return { status: 'copied', bytes, attempts };
  } catch (error) {
    if (ctx.signal.aborted) return { status: 'failed', reason: 'interrupted', attempts };
    const e = asStoreError(error);
    if (e.kind === 'gone')
      return { status: 'missing', reason: `gone from the source during the run (${e.message})`, attempts };
    if (e.kind === 'fatal') return { status: 'failed', reason: e.message, attempts, fatal: step.side };
    return { status: 'failed', reason: e.message, attempts, retryable: retryVerdict(e).retry };
  }
}
