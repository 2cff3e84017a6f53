/**
 * Store failures, classified once at the edge (as rclone's shouldRetry and FatalError) so that
 * nothing above storage/ reads HTTP status codes:
 * - `retryable`: try again later;
 * - `throttled`: retryable, and slow down;
 * - `gone`: the object is not there;
 * - `failed`: this request cannot succeed, retrying cannot help (an unsafe key, a bad argument
 *   for this object); other objects may well succeed;
 * - `fatal`: the store refuses the whole run (credentials refused, the bucket gone, writes
 *   refused, a full or read-only disk, an operation it does not implement): every other key
 *   would get the same answer, so the run stops.
 */
export type StoreErrorKind = 'retryable' | 'throttled' | 'gone' | 'failed' | 'fatal';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    /** Seconds the server asked us to wait (Retry-After), if it did. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function isStoreError(error: unknown, kind?: StoreErrorKind): error is StoreError {
  return error instanceof StoreError && (kind === undefined || error.kind === kind);
}

/** Socket-level failures worth retrying, whichever library raised them. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isRetryableSocketError(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string };
  if (e?.code && RETRYABLE_CODES.has(e.code)) return true;
  if (e?.name === 'TimeoutError' || e?.name === 'RequestTimeout') return true;
  return /socket hang up|premature close|ECONNRESET|aborted by the peer|ended short/i.test(e?.message ?? '');
}

/** Thrown by the counting stream when a body ends before its Content-Length. */
export class ShortBodyError extends StoreError {
  constructor(expected: number, received: number) {
    super('retryable', `body ended short: ${received} of ${expected} bytes`);
    this.name = 'ShortBodyError';
  }
}
