/**
 * The requests a copy and its lookups make — GetObject, PutObject and UploadPart, HeadObject,
 * ListObjectsV2, and the stores' bucket check — sent with node:http and signed by sigv4.ts,
 * bypassing the client's middleware stack. Profiling `sync` showed that stack (endpoint
 * rules, schema serde, retry middleware) costing ≈ 1.5 ms of CPU per request, more than the
 * copy itself on a shared machine. undici's Pool was measured in its place
 * (bench/micro-requests.ts) and cost no less per object than node:http here. Everything else
 * (multipart create/complete/abort, CopyObject, ACLs) goes through @aws-sdk/client-s3, as
 * does every request when the keys come from the environment. Errors are shaped like the
 * SDK's, so one classifier serves both.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { rfc3986, SigV4Signer } from './sigv4.ts';

export interface ObjectRequestsOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  pathStyle: boolean;
  bucket: string;
  maxSockets: number;
  socketTimeoutMs?: number;
}

/** An error shaped like the SDK's ($metadata.httpStatusCode, name = S3 error code). */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $response: { headers: Record<string, string> };
  constructor(status: number, code: string, message: string, headers: Record<string, string>) {
    super(message || code);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
    this.$response = { headers };
  }
}

/** RFC 3986 encoding of each key segment, '/' kept, as S3's canonical URI expects. */
export function encodeKey(key: string): string {
  if (UNRESERVED_PATH.test(key)) return key; // Mastodon's own keys: nothing to encode
  return key.split('/').map(rfc3986).join('/');
}

/** Unreserved characters and '/': a key made only of them is its own encoding. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

function flatHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The codes the SDK gives answers without an XML body (HEAD): classified the same either way. */
/** How long the start-up check waits for a bucket's answer (the SDK client's connect timeout). */
const CHECK_TIMEOUT_MS = 10_000;

const BODYLESS_CODES: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
};

async function errorFrom(response: IncomingMessage): Promise<S3HttpError> {
  let body = '';
  response.setEncoding('utf8');
  for await (const chunk of response) {
    if (body.length < 4096) body += chunk as string;
  }
  const code =
    /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ??
    BODYLESS_CODES[response.statusCode ?? 0] ??
    `Http${response.statusCode}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '';
  return new S3HttpError(response.statusCode ?? 0, code, message, flatHeaders(response));
}

/** The S3 error a non-2xx response carries, as a rejection. */
function rejectWithError(response: IncomingMessage): Promise<never> {
  return errorFrom(response).then((error) => Promise.reject(error));
}

/** A 2xx response as it is; otherwise the S3 error it carries, as a rejection. */
function successful(response: IncomingMessage): IncomingMessage | Promise<never> {
  return (response.statusCode ?? 0) < 300 ? response : rejectWithError(response);
}

/**
 * The ETag of a 2xx response (its body drained), or the S3 error it carries. Plain functions
 * given to `then`, not async methods: on the copy path each async layer was one more promise
 * and suspended frame per request.
 */
function etagOfResponse(response: IncomingMessage): string | undefined | Promise<never> {
  if ((response.statusCode ?? 0) >= 300) return rejectWithError(response);
  response.resume();
  return response.headers.etag?.replace(/^"|"$/g, '');
}

type Method = 'GET' | 'PUT' | 'HEAD';

/** One entry of a listing, with the full key. */
export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text content of an XML element: the five named entities and numeric character references. */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) =>
    entity.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : XML_ENTITIES[entity]!,
  );
}

/** The entries and truncation flag of a ListObjectsV2 (ListBucketResult) document. */
export function parseListing(xml: string): { items: ListedObject[]; truncated: boolean } {
  const items: ListedObject[] = [];
  const field = (entry: string, name: string) => {
    const start = entry.indexOf(`<${name}>`);
    if (start < 0) return undefined;
    const end = entry.indexOf(`</${name}>`, start);
    return end < 0 ? undefined : entry.slice(start + name.length + 2, end);
  };
  for (let at = xml.indexOf('<Contents>'); at >= 0; at = xml.indexOf('<Contents>', at)) {
    const end = xml.indexOf('</Contents>', at);
    if (end < 0) break;
    const entry = xml.slice(at, end);
    at = end;
    const key = field(entry, 'Key');
    if (key === undefined) continue;
    const etag = field(entry, 'ETag');
    const item: ListedObject = { key: decodeXmlText(key), size: Number(field(entry, 'Size') ?? 0) };
    if (etag) item.etag = decodeXmlText(etag).replace(/^"|"$/g, '');
    items.push(item);
  }
  const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml);
  return { items, truncated };
}

async function textOf(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An AbortError as node:http raises it, for requests cut short by their run's signal. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

export class ObjectRequests {
  private readonly signer: SigV4Signer;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly newRequest: typeof httpRequest;
  /** Where every request goes: host name, port and Host header, and the path before the key. */
  private readonly hostname: string;
  private readonly port: string | undefined;
  private readonly host: string;
  private readonly basePath: string;
  /** The bucket itself (listings): `/bucket` path-style, `/` virtual-hosted. */
  private readonly bucketPath: string;
  /**
   * Requests in flight per abort signal, destroyed together when it fires: one listener per
   * signal (a run has one) instead of one per request, which node:http's `signal` option adds.
   */
  private readonly inFlight = new Map<AbortSignal, Set<ClientRequest>>();

  constructor(private readonly options: ObjectRequestsOptions) {
    const url = new URL(options.endpoint);
    const https = url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, keepAliveMsecs: 10_000 };
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.newRequest = https ? httpsRequest : httpRequest;
    this.signer = new SigV4Signer(
      { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      options.region,
    );
    const base = url.pathname.replace(/\/+$/, '');
    this.port = url.port || undefined;
    if (options.pathStyle) {
      this.hostname = url.hostname;
      this.host = url.host;
      this.basePath = `${base}/${options.bucket}/`;
    } else {
      this.hostname = `${options.bucket}.${url.hostname}`;
      this.host = this.port ? `${this.hostname}:${this.port}` : this.hostname;
      this.basePath = `${base}/`;
    }
    this.bucketPath = this.basePath.length > 1 ? this.basePath.slice(0, -1) : '/';
  }

  private track(request: ClientRequest, signal: AbortSignal): void {
    let requests = this.inFlight.get(signal);
    if (!requests) {
      const tracked = new Set<ClientRequest>();
      requests = tracked;
      this.inFlight.set(signal, tracked);
      signal.addEventListener(
        'abort',
        () => {
          for (const r of tracked) r.destroy(abortError(signal));
          this.inFlight.delete(signal);
        },
        { once: true },
      );
    }
    requests.add(request);
    request.on('close', () => requests.delete(request)); // 'close' comes once: no once() wrapper
  }

  /**
   * Starts a signed request and returns it unsent-body: the caller writes the body (or ends
   * it). `response` settles with the response, or rejects on a socket error or timeout.
   */
  open(
    method: Method,
    key: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    query: Record<string, string> = {},
  ): { request: ClientRequest; response: Promise<IncomingMessage> } {
    return this.openPath(method, this.basePath + encodeKey(key), key, headers, signal, query);
  }

  /** `open` for any path of the bucket (`what` names it in errors). */
  private openPath(
    method: Method,
    path: string,
    what: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    query: Record<string, string>,
    timeoutMs = this.options.socketTimeoutMs ?? 120_000,
  ): { request: ClientRequest; response: Promise<IncomingMessage> } {
    if (signal?.aborted) throw abortError(signal);
    headers['host'] = this.host;
    this.signer.sign(method, path, query, headers);
    let search = '';
    for (const name in query) search += `${search ? '&' : '?'}${rfc3986(name)}=${rfc3986(query[name]!)}`;
    // Headers as a flat [name, value, …] list: node:http writes them as given instead of
    // storing each through setHeader first. The socket timeout as an option: node:http applies
    // it to each request's socket, a reused keep-alive one too, without setTimeout's per-request
    // 'socket' listener.
    const headerList: string[] = [];
    for (const name in headers) headerList.push(name, headers[name]!);
    const request = this.newRequest({
      method,
      hostname: this.hostname,
      port: this.port,
      path: path + search,
      headers: headerList,
      agent: this.agent,
      timeout: timeoutMs,
    });
    if (signal) this.track(request, signal);
    request.on('timeout', () => {
      request.destroy(Object.assign(new Error(`${method} ${what}: socket timeout`), { code: 'ETIMEDOUT' }));
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      request.on('error', reject);
      request.on('response', resolve);
    });
    return { request, response };
  }

  private send(
    method: Method,
    key: string,
    headers: Record<string, string>,
    body: Readable | Buffer | null,
    signal: AbortSignal | undefined,
    query: Record<string, string> = {},
  ): Promise<IncomingMessage> {
    const { request, response } = this.open(method, key, headers, signal, query);
    if (body === null) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      body.on('error', (error) => request.destroy(error));
      body.pipe(request);
    }
    return response;
  }

  /** The ETag of a successful response, or the S3 error it carries. */
  etagOf(response: IncomingMessage): Promise<string | undefined> {
    return Promise.resolve(response).then(etagOfResponse);
  }

  /** GetObject: the response stream and its headers; an S3HttpError for non-2xx. */
  get(key: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.send('GET', key, {}, null, signal).then(successful);
  }

  /**
   * The stores' start-up check: a ListObjectsV2 of at most one key under `prefix`. It needs the
   * permission HeadBucket needs (s3:ListBucket) and that every run needs anyway (the lookups
   * list), and names its refusal in an XML body (NoSuchBucket, InvalidAccessKeyId, …), which a
   * HEAD cannot. (s3rver answers HEAD bucket with a whole listing of the bucket, 0.2–0.4 s on
   * the benchmarks' source.) Resolves when the bucket answers 2xx, else an S3HttpError or the
   * socket's error; gives up after `CHECK_TIMEOUT_MS` of silence (a firewalled endpoint), not
   * the copies' socket timeout.
   */
  async checkBucket(prefix: string, signal?: AbortSignal): Promise<void> {
    await this.list(prefix, undefined, signal, 1, CHECK_TIMEOUT_MS);
  }

  /** HeadObject: the response headers, or null when there is no such object. */
  async head(key: string, signal?: AbortSignal): Promise<IncomingMessage['headers'] | null> {
    const response = await this.send('HEAD', key, {}, null, signal);
    if ((response.statusCode ?? 0) >= 300 && response.statusCode !== 404) throw await errorFrom(response);
    response.resume();
    return response.statusCode === 404 ? null : response.headers;
  }

  /**
   * ListObjectsV2, one page of up to `maxKeys` (≤ 1,000) keys after `startAfter` (full keys:
   * the caller applies its prefix). Parsed here from the XML (three fields per entry) instead of by the
   * SDK's schema-driven parser, which cost ≈ 0.07 ms per listed key.
   */
  async list(
    prefix: string,
    startAfter: string | undefined,
    signal?: AbortSignal,
    maxKeys = 1000,
    timeoutMs?: number,
  ): Promise<{ items: ListedObject[]; truncated: boolean }> {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': String(maxKeys), prefix };
    if (startAfter !== undefined) query['start-after'] = startAfter;
    const { request, response } = this.openPath(
      'GET',
      this.bucketPath,
      `LIST ${prefix}`,
      {},
      signal,
      query,
      timeoutMs,
    );
    request.end();
    return parseListing(await textOf(await response.then(successful)));
  }

  /** PutObject of exactly `content-length` bytes (a stream or a buffer); resolves with the ETag. */
  async put(
    key: string,
    body: Readable | Buffer,
    headers: Record<string, string>,
    signal?: AbortSignal,
    query?: Record<string, string>,
  ): Promise<string | undefined> {
    return this.send('PUT', key, headers, body, signal, query).then(etagOfResponse);
  }

  close(): void {
    this.agent.destroy();
  }
}
