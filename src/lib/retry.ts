/**
 * Retrying with exponential backoff and full jitter, honouring a server's Retry-After. Knows
 * no SDK: callers say whether an error is worth another attempt.
 */
export interface RetryPolicy {
  /** Attempts after the first ([sync] retries). */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseDelayMs: 200, maxDelayMs: 20_000 };

/** Delay before retry number `attempt` (1-based): random in [0, min(max, base × 2^(attempt-1))], at least Retry-After. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return retryAfterSeconds === undefined ? jittered : Math.max(jittered, retryAfterSeconds * 1000);
}

export interface RetryVerdict {
  retry: boolean;
  retryAfterSeconds?: number;
}

export interface RetryHooks {
  /** Whether the error is transient. */
  classify(error: unknown): RetryVerdict;
  /** Called before each wait (for counting and logging). */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  signal?: AbortSignal | undefined;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetries<T>(
  policy: RetryPolicy,
  hooks: RetryHooks,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const verdict = hooks.classify(error);
      if (!verdict.retry || attempt > policy.retries || hooks.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, policy, verdict.retryAfterSeconds);
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay, hooks.signal);
    }
  }
}
