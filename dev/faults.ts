/**
 * A fault-injecting HTTP proxy on loopback, between the tool and an S3 server: what throttling
 * providers (503 SlowDown on Wasabi, B2's "no tomes available", 429s) and dropping networks do.
 *
 * Each request draws one fault (or none) from the configured rates:
 * - `slowDown` 503 SlowDown, `internal` 500 InternalError, `tooMany` 429 (Retry-After: 0),
 *   `resetBeforeHeaders` (the connection dropped, no answer): the request never reaches the
 *   server, so it has no effect there;
 * - `resetMidBody` (connection dropped after half the body) and `truncated` (Content-Length
 *   promises more bytes than are sent, then the connection ends): only on object GETs, the
 *   responses that carry a body;
 * plus `latencyMs` added to every request. Every injected fault is counted by kind and by
 * request (method and whether it is a bucket-level request), so a test can match the tool's
 * retry counts against what was injected.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from './fake-instance.ts';

export const FAULT_KINDS = [
  'slowDown',
  'internal',
  'tooMany',
  'resetBeforeHeaders',
  'resetMidBody',
  'truncated',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultRates = Partial<Record<FaultKind, number>>;

export interface InjectedFault {
  kind: FaultKind;
  method: string;
  path: string;
}

export interface FaultProxy {
  endpoint: string;
  /** Every fault injected so far. */
  injected: InjectedFault[];
  requests(): number;
  setRates(rates: FaultRates): void;
  stop(): Promise<void>;
}

const BODY_FAULTS: ReadonlySet<FaultKind> = new Set(['resetMidBody', 'truncated']);

/** `/bucket/key…` (an object) rather than `/bucket?…` (the bucket). */
function isObjectRequest(url: string): boolean {
  const path = url.split('?')[0]!;
  return path.split('/').filter(Boolean).length >= 2;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
}

export async function startFaultProxy(options: {
  target: string;
  rates?: FaultRates;
  latencyMs?: number;
  seed?: number;
}): Promise<FaultProxy> {
  const target = new URL(options.target);
  const random = prng(options.seed ?? 1);
  let rates: FaultRates = options.rates ?? {};
  const injected: InjectedFault[] = [];
  let count = 0;

  const draw = (req: IncomingMessage): FaultKind | null => {
    let r = random();
    for (const kind of FAULT_KINDS) {
      const rate = rates[kind] ?? 0;
      if (r < rate) {
        if (BODY_FAULTS.has(kind) && !(req.method === 'GET' && isObjectRequest(req.url ?? '/'))) return null;
        return kind;
      }
      r -= rate;
    }
    return null;
  };

  // A fault counts once the client can see it: after the whole request was received (a client
  // that gave up on its request meanwhile never sees the answer) or when the body is cut.
  const record = (kind: FaultKind, req: IncomingMessage) =>
    injected.push({ kind, method: req.method ?? 'GET', path: req.url ?? '/' });

  /** Answers after the request body has been read (as a server does), so the client sees an answer, not EPIPE. */
  const answer = (
    kind: FaultKind,
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => {
    req.resume();
    req.on('end', () => {
      record(kind, req);
      const body = req.method === 'HEAD' ? '' : errorXml(code, message);
      res.writeHead(status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        ...headers,
      });
      res.end(body);
    });
  };

  /**
   * Forwards a request once its whole body has arrived (store and forward). S3 commits an
   * object only when its entire body was received; s3rver instead opens the final file when a
   * PUT starts and keeps what an aborted upload sent — so a client aborting a PUT (its source
   * failed mid-stream, as the faults here make it) must not reach s3rver at all.
   */
  const forward = (req: IncomingMessage, res: ServerResponse, fault: FaultKind | null) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => send(req, res, fault, Buffer.concat(chunks)));
  };

  const send = (req: IncomingMessage, res: ServerResponse, fault: FaultKind | null, body: Buffer) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        const length = Number(response.headers['content-length'] ?? 0);
        if ((fault === 'resetMidBody' || fault === 'truncated') && length > 1) {
          res.writeHead(response.statusCode ?? 502, response.headers);
          let sent = 0;
          const half = Math.floor(length / 2);
          response.on('data', (chunk: Buffer) => {
            if (sent >= half) return;
            const part = chunk.subarray(0, half - sent);
            sent += part.length;
            res.write(part);
            if (sent >= half) {
              record(fault, req);
              response.destroy();
              // reset: drop the connection; truncated: close it cleanly, the body short.
              if (fault === 'resetMidBody') res.socket?.resetAndDestroy();
              else res.socket?.end();
            }
          });
          return;
        }
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };

  const server: Server = createServer((req, res) => {
    count++;
    const handle = () => {
      const fault = draw(req);
      switch (fault) {
        case 'slowDown':
          return answer(fault, req, res, 503, 'SlowDown', 'Please reduce your request rate.');
        case 'internal':
          return answer(
            fault,
            req,
            res,
            500,
            'InternalError',
            'We encountered an internal error. Please try again.',
          );
        case 'tooMany':
          return answer(fault, req, res, 429, 'TooManyRequests', 'Too many requests', { 'retry-after': '0' });
        case 'resetBeforeHeaders':
          req.resume();
          req.on('end', () => {
            record(fault, req);
            req.socket.resetAndDestroy();
          });
          return;
        default:
          return forward(req, res, fault);
      }
    };
    const latency = options.latencyMs ?? 0;
    if (latency > 0) setTimeout(handle, latency);
    else handle();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests: () => count,
    setRates(next) {
      rates = next;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
