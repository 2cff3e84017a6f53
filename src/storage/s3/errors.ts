/** Mapping AWS SDK errors to StoreError kinds, with messages that name what was tried. */
import { isRetryableSocketError, StoreError } from '../errors.ts';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
]);
const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);
/** Answers that hold for every request of the run: credentials, bucket, account, missing features. */
const STORE_FATAL_CODES = new Set([
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'NotImplemented',
  'InvalidBucketName',
  'PermanentRedirect',
]);

function retryAfter(error: SdkError): number | undefined {
  const header = error.$response?.headers?.['retry-after'];
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 300) : undefined;
}

/**
 * One S3 (or SDK) error as a StoreError. `write`: the request changes the bucket — a refused
 * write (403 AccessDenied) then means the destination refuses writes, which stops the run; a
 * refused read may concern one object only.
 */
export function classifyS3Error(error: unknown, what: string, options: { write?: boolean } = {}): StoreError {
  if (error instanceof StoreError) return error;
  const e = error as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name ?? e?.code ?? 'Error';
  const detail = `${what}: ${status ? `HTTP ${status} ` : ''}${name}${e?.message && e.message !== name ? ` (${e.message.split('\n')[0]})` : ''}`;
  if (name === 'AbortError') return new StoreError('failed', `${what}: aborted`);
  if (STORE_FATAL_CODES.has(name) || status === 501 || status === 401) return new StoreError('fatal', detail);
  if (THROTTLE_CODES.has(name) || status === 429 || (status === 503 && name === 'SlowDown')) {
    return new StoreError('throttled', detail, retryAfter(e));
  }
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return new StoreError('gone', detail);
  if (status !== undefined && RETRYABLE_STATUS.has(status))
    return new StoreError('retryable', detail, retryAfter(e));
  if (name === 'RequestTimeout' || name === 'RequestTimeTooSkewed' || name === 'InternalError') {
    return new StoreError('retryable', detail);
  }
  if (status === undefined && isRetryableSocketError(e)) return new StoreError('retryable', detail);
  if (options.write && (status === 403 || name === 'AccessDenied')) return new StoreError('fatal', detail);
  return new StoreError('failed', detail);
}

/** A one-line explanation for `check()` failures: bucket, credentials, endpoint. */
export function describeCheckError(error: unknown, bucket: string, endpoint: string): string {
  const e = error as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name ?? e?.code ?? '';
  if (status === 404 || name === 'NoSuchBucket' || name === 'NotFound') {
    return `bucket "${bucket}" does not exist at ${endpoint}`;
  }
  if (
    status === 403 ||
    status === 401 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(name)
  ) {
    return `access to bucket "${bucket}" at ${endpoint} was refused (${name || `HTTP ${status}`}): check access_key and secret_key`;
  }
  const code = (e as { code?: string })?.code;
  if (code === 'ECONNREFUSED') return `cannot reach ${endpoint}: connection refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach ${endpoint}: host name not found`;
  if (e?.name === 'TimeoutError' || code === 'ETIMEDOUT')
    return `cannot reach ${endpoint}: no answer (timeout)`;
  return `cannot use bucket "${bucket}" at ${endpoint}: ${name || 'error'}${e?.message ? ` (${e.message.split('\n')[0]})` : ''}`;
}
