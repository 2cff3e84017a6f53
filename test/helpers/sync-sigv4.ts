/**
 * A loopback gate in front of an S3 server that verifies AWS Signature Version 4 (header form)
 * before forwarding. s3rver checks only that the access key id exists and never verifies a
 * SigV4 signature, so a wrong secret key would go unnoticed behind it; this gate refuses such
 * requests with 403 SignatureDoesNotMatch, as real providers do.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SigV4Gate {
  endpoint: string;
  /** Requests refused (bad or missing signature). */
  refused: number;
  /** Requests forwarded. */
  accepted: number;
  stop(): Promise<void>;
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1));
      return [rfc3986(key), rfc3986(value)] as const;
    })
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The reason the request's signature is wrong, or null when it verifies. */
export function verifySigV4(req: IncomingMessage, secrets: ReadonlyMap<string, string>): string | null {
  const auth = req.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!match) return 'no SigV4 Authorization header';
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  const secret = secrets.get(accessKeyId!);
  if (secret === undefined) return 'unknown access key id';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headerNames = signedHeaders!.split(';');
  const canonicalHeaders = headerNames
    .map((name) => {
      const raw = req.headers[name];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    req.method ?? 'GET',
    q === -1 ? url : url.slice(0, q),
    canonicalQuery(q === -1 ? '' : url.slice(q + 1)),
    canonicalHeaders,
    signedHeaders,
    String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD'),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? null : 'signature does not match';
}

export async function startSigV4Gate(options: {
  target: string;
  /** access key id → secret key the gate accepts. */
  credentials: ReadonlyMap<string, string>;
}): Promise<SigV4Gate> {
  const target = new URL(options.target);
  const gate: SigV4Gate = { endpoint: '', refused: 0, accepted: 0, stop: async () => {} };
  const server: Server = createServer((req, res) => {
    const problem = verifySigV4(req, options.credentials);
    if (problem) {
      gate.refused++;
      req.resume();
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
        `<Message>The request signature we calculated does not match the signature you provided (${problem}).</Message></Error>`;
      res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    gate.accepted++;
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  gate.endpoint = `http://127.0.0.1:${port}`;
  gate.stop = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return gate;
}
