/**
 * Copying one object, in named steps: server-side copy when the run allows it, else stream
 * source → destination through a counting stream; verify the MD5 the destination reports when
 * both sides have one; retry transient failures; report a vanished source as missing.
 * Success is counted only after the store confirmed the whole object.
 */
import type { Logger } from '../log.ts';
import type { CatalogKey } from '../mastodon/types.ts';
import type { RateLimiter } from '../run/rate.ts';
import { isRetryableSocketError, StoreError } from '../storage/errors.ts';
import type { ObjectInfo, ObjectStore } from '../storage/types.ts';
import { CountingStream } from './counting.ts';
import { md5FromEtag } from './decide.ts';
import { type RetryPolicy, withRetries } from './retry.ts';
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

export type CopyOutcome =
  | { status: 'copied'; bytes: number; attempts: number }
  | { status: 'missing' | 'failed'; reason: string; attempts: number };

const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** The source's Content-Type unless it is missing or generic; then the catalog's (§ known types). */
export function chooseContentType(fromSource: string | undefined, fromCatalog: string): string {
  const base = (fromSource ?? '').split(';')[0]!.trim().toLowerCase();
  return GENERIC_TYPES.has(base) ? fromCatalog : fromSource!;
}

function asStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = (error as Error)?.message ?? String(error);
  return new StoreError(isRetryableSocketError(error) ? 'retryable' : 'fatal', message);
}

async function serverSideCopy(ctx: CopyContext, task: CopyTask): Promise<boolean> {
  if (!ctx.serverSide || !ctx.dest.copyFrom) return false;
  // A listing gives no Content-Type, and the copy replaces the metadata (to set
  // Cache-Control and ACL): ask the source for its type first, so it is kept.
  let sourceType = task.sourceInfo.contentType;
  if (sourceType === undefined) {
    await ctx.rate.take(ctx.signal);
    ctx.stats.request('head');
    const head = await ctx.source.head(task.sourceKey, ctx.signal);
    if (!head) throw new StoreError('gone', `HEAD ${task.sourceKey}: not found`);
    sourceType = head.contentType;
  }
  await ctx.rate.take(ctx.signal);
  ctx.stats.request('copy');
  return ctx.dest.copyFrom(ctx.source, task.sourceKey, task.item.key, {
    size: task.sourceInfo.size,
    contentType: chooseContentType(sourceType, task.item.contentType),
    cacheControl: ctx.cacheControl,
    acl: task.item.acl,
    signal: ctx.signal,
  });
}

async function streamCopy(ctx: CopyContext, task: CopyTask): Promise<number> {
  await ctx.rate.take(ctx.signal);
  ctx.stats.request('get');
  const { info, body } = await ctx.source.read(task.sourceKey, ctx.signal);
  const counted = new CountingStream(info.size, (n) => {
    ctx.stats.bytesStreamed += n;
  });
  body.on('error', (error) => counted.destroy(asStoreError(error)));
  body.pipe(counted);
  const md5 = md5FromEtag(info.etag);
  try {
    await ctx.rate.take(ctx.signal);
    ctx.stats.request('put');
    const written = await ctx.dest.write(task.item.key, counted, {
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
  try {
    const bytes = await withRetries(
      ctx.retry,
      {
        signal: ctx.signal,
        classify: (error) => {
          const e = asStoreError(error);
          if (e.kind === 'throttled') {
            ctx.stats.throttled++;
            ctx.pacer.throttled();
          }
          return {
            retry: e.kind === 'retryable' || e.kind === 'throttled',
            ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
          };
        },
        onRetry: (error, attempt, delayMs) => {
          ctx.stats.retries++;
          ctx.log.debug(
            { key: task.item.key, attempt, delayMs, err: asStoreError(error).message },
            'retrying',
          );
        },
      },
      async (attempt) => {
        attempts = attempt;
        if (await serverSideCopy(ctx, task)) return task.sourceInfo.size;
        return streamCopy(ctx, task);
      },
    );
    ctx.pacer.succeeded();
    return { status: 'copied', bytes, attempts };
  } catch (error) {
    if (ctx.signal.aborted) return { status: 'failed', reason: 'interrupted', attempts };
    const e = asStoreError(error);
    if (e.kind === 'gone')
      return { status: 'missing', reason: `gone from the source during the run (${e.message})`, attempts };
    return { status: 'failed', reason: e.message, attempts };
  }
}
