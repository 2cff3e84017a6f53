/**
 * The two requests a copy makes per object — GetObject and single-part PutObject — sent with
 * node:http and signed with the SDK's own SignatureV4, bypassing the client's middleware
 * stack. Profiling `sync` showed that stack (endpoint rules, schema serde, retry middleware)
 * costing ≈ 1.5 ms of CPU per request, more than the copy itself on a shared machine.
 * Everything else (HEAD, LIST, multipart, CopyObject, HeadBucket) still goes through
 * @aws-sdk/client-s3. Errors are shaped like the SDK's, so one classifier serves both.
 */
import { createHash, createHmac } from 'node:crypto';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';

/** SHA-256 (or HMAC-SHA-256 with a secret) for SignatureV4, from node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class NodeSha256 {
  private hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

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

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** RFC 3986 encoding of each key segment, '/' kept, as S3's canonical URI expects. */
export function encodeKey(key: string): string {
  return key.split('/').map(rfc3986).join('/');
}

function flatHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function errorFrom(response: IncomingMessage): Promise<S3HttpError> {
  let body = '';
  response.setEncoding('utf8');
  for await (const chunk of response) {
    if (body.length < 4096) body += chunk as string;
  }
  const code =
    /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ??
    (response.statusCode === 404 ? 'NotFound' : `Http${response.statusCode}`);
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '';
  return new S3HttpError(response.statusCode ?? 0, code, message, flatHeaders(response));
}

export class ObjectRequests {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly https: boolean;

  constructor(private readonly options: ObjectRequestsOptions) {
    this.url = new URL(options.endpoint);
    this.https = this.url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, keepAliveMsecs: 10_000 };
    this.agent = this.https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.signer = new SignatureV4({
      service: 's3',
      region: options.region,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      sha256: NodeSha256,
      uriEscapePath: false, // S3 signs the path as sent, not double-encoded
      applyChecksum: false,
    });
  }

  private target(key: string): { hostname: string; port: string; path: string; host: string } {
    const base = this.url.pathname.replace(/\/+$/, '');
    const port = this.url.port;
    if (this.options.pathStyle) {
      return {
        hostname: this.url.hostname,
        port,
        host: this.url.host,
        path: `${base}/${this.options.bucket}/${encodeKey(key)}`,
      };
    }
    const hostname = `${this.options.bucket}.${this.url.hostname}`;
    return {
      hostname,
      port,
      host: port ? `${hostname}:${port}` : hostname,
      path: `${base}/${encodeKey(key)}`,
    };
  }

  /**
   * Starts a signed request and returns it unsent-body: the caller writes the body (or ends
   * it). `response` settles with the response, or rejects on a socket error or timeout.
   */
  async open(
    method: 'GET' | 'PUT',
    key: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    query: Record<string, string> = {},
  ): Promise<{ request: ClientRequest; response: Promise<IncomingMessage> }> {
    const target = this.target(key);
    const { hostname, port, host } = target;
    const search = Object.entries(query)
      .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
      .join('&');
    const signed = await this.signer.sign({
      method,
      protocol: this.url.protocol,
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: target.path,
      query,
      headers: { ...headers, host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const send = this.https ? httpsRequest : httpRequest;
    const request = send({
      method,
      hostname,
      port: port || undefined,
      path: search ? `${target.path}?${search}` : target.path,
      headers: signed.headers,
      agent: this.agent,
      ...(signal ? { signal } : {}),
    });
    request.setTimeout(this.options.socketTimeoutMs ?? 120_000, () => {
      request.destroy(Object.assign(new Error(`${method} ${key}: socket timeout`), { code: 'ETIMEDOUT' }));
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      request.on('error', reject);
      request.on('response', resolve);
    });
    return { request, response };
  }

  private async send(
    method: 'GET' | 'PUT',
    key: string,
    headers: Record<string, string>,
    body: Readable | null,
    signal: AbortSignal | undefined,
    query: Record<string, string> = {},
  ): Promise<IncomingMessage> {
    const { request, response } = await this.open(method, key, headers, signal, query);
    if (body) {
      body.on('error', (error) => request.destroy(error));
      body.pipe(request);
    } else request.end();
    return response;
  }

  /** The ETag of a successful response, or the S3 error it carries. */
  async etagOf(response: IncomingMessage): Promise<string | undefined> {
    if ((response.statusCode ?? 0) >= 300) throw await errorFrom(response);
    response.resume();
    return response.headers.etag?.replace(/^"|"$/g, '');
  }

  /** GetObject: the response stream and its headers; an S3HttpError for non-2xx. */
  async get(key: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const response = await this.send('GET', key, {}, null, signal);
    if ((response.statusCode ?? 0) >= 300) throw await errorFrom(response);
    return response;
  }

  /** PutObject from a stream of exactly `content-length` bytes; resolves with the ETag. */
  async put(
    key: string,
    body: Readable,
    headers: Record<string, string>,
    signal?: AbortSignal,
    query?: Record<string, string>,
  ): Promise<string | undefined> {
    return this.etagOf(await this.send('PUT', key, headers, body, signal, query));
  }

  close(): void {
    this.agent.destroy();
  }
}
