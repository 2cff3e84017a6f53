/**
 * classifyS3Error: SDK-shaped errors (name, $metadata.httpStatusCode, $response.headers) to
 * StoreError kinds; describeCheckError: one-line messages that name bucket and endpoint and
 * never repeat a secret.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShortBodyError, StoreError, type StoreErrorKind } from '../../src/storage/errors.ts';
import { classifyS3Error, describeCheckError } from '../../src/storage/s3/errors.ts';

/** An error shaped as the AWS SDK v3 throws them. */
function sdkError(
  name: string,
  status?: number,
  headers?: Record<string, string>,
  message = `${name} message`,
): Error {
  return Object.assign(new Error(message), {
    name,
    ...(status !== undefined ? { $metadata: { httpStatusCode: status } } : {}),
    ...(headers ? { $response: { headers } } : {}),
  });
}

function socketError(code: string, message = `connect ${code} 10.0.0.1:443`): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyS3Error', () => {
  const TABLE: Array<[name: string, error: unknown, kind: StoreErrorKind]> = [
    ['503 SlowDown', sdkError('SlowDown', 503), 'throttled'],
    ['SlowDown without a status', sdkError('SlowDown'), 'throttled'],
    ['429 TooManyRequests', sdkError('TooManyRequests', 429), 'throttled'],
    ['429 with an unknown name', sdkError('Unknown', 429), 'throttled'],
    ['400 ThrottlingException', sdkError('ThrottlingException', 400), 'throttled'],
    ['Throttling', sdkError('Throttling', 400), 'throttled'],
    ['RequestLimitExceeded', sdkError('RequestLimitExceeded', 503), 'throttled'],
    ['500 InternalError', sdkError('InternalError', 500), 'retryable'],
    ['500 unknown', sdkError('Unknown', 500), 'retryable'],
    ['502 Bad Gateway', sdkError('Unknown', 502), 'retryable'],
    ['503 ServiceUnavailable', sdkError('ServiceUnavailable', 503), 'retryable'],
    ['504 Gateway Timeout', sdkError('Unknown', 504), 'retryable'],
    ['RequestTimeout (400)', sdkError('RequestTimeout', 400), 'retryable'],
    ['RequestTimeTooSkewed (403)', sdkError('RequestTimeTooSkewed', 403), 'retryable'],
    ['InternalError without status', sdkError('InternalError'), 'retryable'],
    ['404 NoSuchKey', sdkError('NoSuchKey', 404), 'gone'],
    ['NoSuchKey without status', sdkError('NoSuchKey'), 'gone'],
    ['404 NotFound (HEAD)', sdkError('NotFound', 404), 'gone'],
    ['404 with an unknown name', sdkError('Unknown', 404), 'gone'],
    ['403 AccessDenied (a read: this object)', sdkError('AccessDenied', 403), 'failed'],
    ['403 InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403), 'fatal'],
    ['403 SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), 'fatal'],
    ['400 InvalidArgument', sdkError('InvalidArgument', 400), 'failed'],
    ['404 NoSuchBucket (the bucket is gone)', sdkError('NoSuchBucket', 404), 'fatal'],
    ['400 ExpiredToken', sdkError('ExpiredToken', 400), 'fatal'],
    ['501 NotImplemented', sdkError('NotImplemented', 501), 'fatal'],
    ['AbortError', sdkError('AbortError'), 'failed'],
    ['ECONNRESET socket error', socketError('ECONNRESET', 'read ECONNRESET'), 'retryable'],
    ['ECONNREFUSED', socketError('ECONNREFUSED'), 'retryable'],
    ['ETIMEDOUT', socketError('ETIMEDOUT'), 'retryable'],
    ['EPIPE', socketError('EPIPE', 'write EPIPE'), 'retryable'],
    ['EAI_AGAIN', socketError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN s3.example'), 'retryable'],
    ['socket hang up (no code)', new Error('socket hang up'), 'retryable'],
    ['TimeoutError', sdkError('TimeoutError'), 'retryable'],
    ['premature close', socketError('ERR_STREAM_PREMATURE_CLOSE', 'Premature close'), 'retryable'],
    ['a plain TypeError', new TypeError('x is not a function'), 'failed'],
    ['undefined', undefined, 'failed'],
    ['a string', 'weird', 'failed'],
  ];
  for (const [name, error, kind] of TABLE) {
    test(`${name} → ${kind}`, () => {
      const result = classifyS3Error(error, 'GET media_attachments/x.png');
      assert.ok(result instanceof StoreError);
      assert.equal(result.kind, kind);
      assert.match(result.message, /^GET media_attachments\/x\.png: /);
    });
  }

  test('a refused write stops the run (fatal); the same refusal on a read concerns that object', () => {
    const denied = sdkError('AccessDenied', 403);
    assert.equal(classifyS3Error(denied, 'PUT k', { write: true }).kind, 'fatal');
    assert.equal(classifyS3Error(denied, 'GET k').kind, 'failed');
    // A skewed clock is a 403 too, and retryable even on a write.
    assert.equal(
      classifyS3Error(sdkError('RequestTimeTooSkewed', 403), 'PUT k', { write: true }).kind,
      'retryable',
    );
  });

  test('a StoreError passes through unchanged', () => {
    const original = new ShortBodyError(10, 5);
    assert.equal(classifyS3Error(original, 'GET x'), original);
  });

  test('the message names the operation, the status, the error name and the first line of its message', () => {
    const error = sdkError('AccessDenied', 403, undefined, 'Access Denied\nRequestId: 123');
    const result = classifyS3Error(error, 'PUT media_attachments/a.png');
    assert.equal(result.message, 'PUT media_attachments/a.png: HTTP 403 AccessDenied (Access Denied)');
  });

  test('a message equal to the name is not repeated', () => {
    const result = classifyS3Error(sdkError('NoSuchKey', 404, undefined, 'NoSuchKey'), 'HEAD k');
    assert.equal(result.message, 'HEAD k: HTTP 404 NoSuchKey');
  });

  test('an abort says aborted', () => {
    assert.equal(classifyS3Error(sdkError('AbortError'), 'GET k').message, 'GET k: aborted');
  });

  const RETRY_AFTER: Array<
    [headers: Record<string, string> | undefined, status: number, name: string, seconds: number | undefined]
  > = [
    [{ 'retry-after': '5' }, 503, 'SlowDown', 5],
    [{ 'retry-after': '0' }, 429, 'TooManyRequests', 0],
    [{ 'retry-after': '1.5' }, 503, 'SlowDown', 1.5],
    [{ 'retry-after': '120' }, 500, 'InternalError', 120],
    [{ 'retry-after': '86400' }, 503, 'SlowDown', 300], // capped at five minutes
    [{ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, 503, 'SlowDown', undefined],
    [{ 'retry-after': '-3' }, 503, 'SlowDown', undefined],
    [{ 'retry-after': 'soon' }, 429, 'TooManyRequests', undefined],
    [{}, 503, 'SlowDown', undefined],
    [undefined, 503, 'SlowDown', undefined],
  ];
  for (const [headers, status, name, seconds] of RETRY_AFTER) {
    test(`Retry-After ${JSON.stringify(headers?.['retry-after'])} on ${status} ${name} → ${seconds}`, () => {
      const result = classifyS3Error(sdkError(name, status, headers), 'GET k');
      assert.equal(result.retryAfterSeconds, seconds);
    });
  }

  test('Retry-After is not attached to gone or fatal errors', () => {
    assert.equal(
      classifyS3Error(sdkError('NoSuchKey', 404, { 'retry-after': '5' }), 'GET k').retryAfterSeconds,
      undefined,
    );
    assert.equal(
      classifyS3Error(sdkError('AccessDenied', 403, { 'retry-after': '5' }), 'GET k').retryAfterSeconds,
      undefined,
    );
  });
});

describe('describeCheckError', () => {
  const BUCKET = 'mastodon-media';
  const ENDPOINT = 'https://s3.eu-central-1.example.com';
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';

  const TABLE: Array<[name: string, error: unknown, mustInclude: RegExp[]]> = [
    ['NoSuchBucket', sdkError('NoSuchBucket', 404), [/does not exist/]],
    ['404 NotFound (HEAD bucket)', sdkError('NotFound', 404), [/does not exist/]],
    [
      '403 AccessDenied',
      sdkError('AccessDenied', 403),
      [/refused/, /AccessDenied/, /access_key and secret_key/],
    ],
    ['403 with an unnamed error', sdkError('', 403), [/refused/, /HTTP 403/]],
    ['401', sdkError('Unauthorized', 401), [/refused/]],
    ['InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403), [/refused/, /InvalidAccessKeyId/]],
    ['SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), [/refused/, /SignatureDoesNotMatch/]],
  ];
  for (const [name, error, mustInclude] of TABLE) {
    test(`${name}: names the bucket and the endpoint`, () => {
      const message = describeCheckError(error, BUCKET, ENDPOINT);
      assert.ok(message.includes(`"${BUCKET}"`), message);
      assert.ok(message.includes(ENDPOINT), message);
      for (const pattern of mustInclude) assert.match(message, pattern);
    });
  }

  const UNREACHABLE: Array<[name: string, error: unknown, pattern: RegExp]> = [
    ['ECONNREFUSED', socketError('ECONNREFUSED'), /connection refused/],
    ['ENOTFOUND', socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND s3.example'), /host name not found/],
    ['EAI_AGAIN', socketError('EAI_AGAIN'), /host name not found/],
    ['ETIMEDOUT', socketError('ETIMEDOUT'), /timeout/],
    ['TimeoutError', sdkError('TimeoutError'), /timeout/],
  ];
  for (const [name, error, pattern] of UNREACHABLE) {
    test(`${name}: names the endpoint`, () => {
      const message = describeCheckError(error, BUCKET, ENDPOINT);
      assert.ok(message.includes(ENDPOINT), message);
      assert.match(message, pattern);
      assert.match(message, /^cannot reach /);
    });
  }

  test('another error names the bucket, the endpoint, the name and the first message line', () => {
    const message = describeCheckError(
      sdkError('PermanentRedirect', 301, undefined, 'Wrong region\nmore'),
      BUCKET,
      ENDPOINT,
    );
    assert.equal(message, `cannot use bucket "${BUCKET}" at ${ENDPOINT}: PermanentRedirect (Wrong region)`);
  });

  test('never includes a secret, even when the SDK error carries credentials', () => {
    const leaky = (name: string, status?: number, code?: string) =>
      Object.assign(
        new Error(`${name}: request signed with ${ACCESS_KEY}:${SECRET}`),
        { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...(code ? { code } : {}) },
        { credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET } },
      );
    for (const error of [
      leaky('NoSuchBucket', 404),
      leaky('AccessDenied', 403),
      leaky('SignatureDoesNotMatch', 403),
      leaky('InvalidAccessKeyId', 403),
      leaky('Error', undefined, 'ECONNREFUSED'),
      leaky('Error', undefined, 'ENOTFOUND'),
      leaky('TimeoutError'),
    ]) {
      const message = describeCheckError(error, BUCKET, ENDPOINT);
      assert.ok(!message.includes(SECRET), message);
      assert.ok(!message.includes(ACCESS_KEY), message);
    }
  });
});
