/**
 * How every store request of a run is made — the one place a retry is decided (as rclone's
 * pacer + shouldRetry): the store classified the error (storage/errors.ts); this applies the
 * run's rate limit, retries `retryable` and `throttled` answers with backoff and Retry-After,
 * tells the pacer about throttling (so the pool slows down) and counts retries. `gone`,
 * `failed` and `fatal` are never retried.
 */

import { RateLimiter } from '../lib/rate.ts';
import { type RetryHooks, type RetryPolicy, type RetryVerdict, withRetries } from '../lib/retry.ts';
import { isRetryableSocketError, StoreError } from '../storage/errors.ts';
import type { LookupContext } from './lookup.ts';

export interface RequestPolicy {
  retry: RetryPolicy;
  /** The run's request-rate cap, taken once per attempt (absent: no cap). */
  rate?: RateLimiter;
  signal?: AbortSignal;
  /** Told of each throttled answer: counting, and the pool halving its concurrency. */
  onThrottled?(): void;
  /** Told before each retry wait (counting, logging). */
  onRetry?(error: StoreError, attempt: number, delayMs: number): void;
}

/** Retries and throttled answers of a run, counted where the caller shows them. */
export interface RequestCounts {
  retries: number;
  throttled: number;
}

/** The policy most runs use: the run's budget and rate cap, counting into `counts`. */
export function countingPolicy(
  retry: RetryPolicy,
  maxRequestsPerSecond: number,
  signal: AbortSignal,
  counts: RequestCounts,
): RequestPolicy {
  return {
    retry,
    rate: new RateLimiter(maxRequestsPerSecond),
    signal,
    onThrottled: () => {
      counts.throttled++;
    },
    onRetry: () => {
      counts.retries++;
    },
  };
}

/** Any error as a StoreError: socket-level failures are retryable, anything unknown failed. */
export function asStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = (error as Error)?.message ?? String(error);
  return new StoreError(isRetryableSocketError(error) ? 'retryable' : 'failed', message);
}

export function retryVerdict(error: StoreError): RetryVerdict {
  const retry = error.kind === 'retryable' || error.kind === 'throttled';
  return error.retryAfterSeconds === undefined
    ? { retry }
    : { retry, retryAfterSeconds: error.retryAfterSeconds };
}

/**
 * The retry hooks of a policy. Built per call: a copy makes a policy per object (its retry log
 * names the key), and caching hooks in a WeakMap keyed by it cost a V8 ephemeron per object,
 * which every GC must trace — more than three small closures. One object literal of one shape
 * (no conditional spread: that cost ≈ 10 µs per object in the thumbnail profile).
 */
function hooksOf(policy: RequestPolicy): RetryHooks {
  return {
    signal: policy.signal,
    classify: (error) => {
      const e = asStoreError(error);
      if (e.kind === 'throttled') policy.onThrottled?.();
      return retryVerdict(e);
    },
    onRetry: (error, attempt, delayMs) => policy.onRetry?.(asStoreError(error), attempt, delayMs),
  };
}

/** Runs `fn` (one or more requests) under the policy; rejects with the last error. */
export function storeRequest<T>(policy: RequestPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  const rate = policy.rate;
  // Without a cap, no extra async step per attempt (two per object on the copy path).
  const attempt =
    rate && !rate.unlimited
      ? async (n: number) => {
          await rate.take(policy.signal);
          return fn(n);
        }
      : fn;
  return withRetries(policy.retry, hooksOf(policy), attempt);
}

/** What lookups (and any other batch of store reads) need: the policy, and a request counter. */
export function lookupContextOf(
  policy: RequestPolicy,
  onRequest: LookupContext['onRequest'],
  groupOf?: (key: string) => string,
): LookupContext {
  return {
    ...(policy.signal ? { signal: policy.signal } : {}),
    onRequest,
    retry: (fn) => storeRequest(policy, () => fn()),
    ...(groupOf ? { groupOf } : {}),
  };
}
