/**
 * A loopback HTTP proxy placed in front of an S3 server: records every request (method, path,
 * the headers that matter: ACL, Cache-Control, Content-Type), counts them, and can add latency
 * — real object stores answer in 10–100 ms, loopback in well under one.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  status?: number;
  /** When the upstream's answer arrived (Date.now()), for timing what the client did. */
  answeredAt?: number;
}

export interface Proxy {
  endpoint: string;
  requests: RecordedRequest[];
  /** The canned ACL an object (`/bucket/key`) has through this proxy (enforceAcl), if written here. */
  aclOf(path: string): string | undefined;
  reset(): void;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  target: string;
  /** Added before forwarding each request. */
  latencyMs?: number;
  /** Keep recorded requests (default true; benchmarks turn it off and use `count`). */
  record?: boolean;
  /**
   * Enforce canned ACLs for anonymous requests, as S3 does (s3rver accepts ACLs and ignores
   * them): the ACL of each object written through this proxy (x-amz-acl on PUT, COPY or
   * multipart create; none means private) is remembered, and an unsigned GET/HEAD of an object
   * that is not public-read gets 403.
   */
  enforceAcl?: boolean;
  /**
   * With enforceAcl: answer GetObjectAcl and PutObjectAcl here, from the remembered ACLs
   * (s3rver's GET ?acl is a stub and PUT ?acl is not implemented).
   */
  answerAcl?: boolean;
  /** Refuse CopyObject (403 AccessDenied), as a key without s3:GetObject on its own bucket gets. */
  refuseCopy?: boolean;
  /** Refuse every write (PUT, POST: 403 AccessDenied), as a revoked or read-only key gets. */
  refuseWrites?: boolean;
  /**
   * Reset the connection of the first `times` GET requests of each object whose path contains
   * `match` (a transient failure that outlasts a small retry budget, then goes away).
   */
  resetGets?: { match: string; times: number };
  /**
   * Forward a request only once its whole body arrived, as S3 commits an object only when all
   * of it was received (s3rver writes into the final file as bytes arrive, and keeps what an
   * aborted upload sent).
   */
  storeAndForward?: boolean;
}

/** The object path of a request (`/bucket/key`), without the query. */
function objectPath(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function isAnonymous(req: import('node:http').IncomingMessage): boolean {
  return req.headers.authorization === undefined && !(req.url ?? '').includes('X-Amz-Signature=');
}

const GRANT_XML: Readonly<Record<string, string>> = {
  'public-read': 'http://acs.amazonaws.com/groups/global/AllUsers|READ',
  'public-read-write': 'http://acs.amazonaws.com/groups/global/AllUsers|WRITE',
  'authenticated-read': 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers|READ',
};

/** GetObjectAcl / PutObjectAcl as S3 answers them, for objects whose ACL this proxy knows. */
function answerAclRequest(
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
  path: string,
  acls: Map<string, string>,
  requests: RecordedRequest[] | null,
): void {
  const known = acls.get(path);
  const entry: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
  requests?.push(entry);
  req.resume();
  const reply = (status: number, body: string) => {
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(body);
  };
  if (known === undefined) {
    reply(404, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>');
    return;
  }
  if (req.method === 'PUT') {
    const acl = req.headers['x-amz-acl'];
    acls.set(path, typeof acl === 'string' ? acl : 'private');
    reply(200, '');
    return;
  }
  const owner = '<Owner><ID>owner</ID><DisplayName>owner</DisplayName></Owner>';
  const ownerGrant =
    '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>';
  const extra = GRANT_XML[known];
  const groupGrants = extra
    ? [
        extra,
        ...(known === 'public-read-write' ? ['http://acs.amazonaws.com/groups/global/AllUsers|READ'] : []),
      ]
        .map((g) => {
          const [uri, permission] = g.split('|');
          return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${uri}</URI></Grantee><Permission>${permission}</Permission></Grant>`;
        })
        .join('')
    : '';
  reply(
    200,
    `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${owner}<AccessControlList>${ownerGrant}${groupGrants}</AccessControlList></AccessControlPolicy>`,
  );
}

export async function startProxy(options: ProxyOptions): Promise<Proxy & { count: () => number }> {
  const target = new URL(options.target);
  const requests: RecordedRequest[] = [];
  let count = 0;
  const acls = new Map<string, string>();
  const resets = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    count++;
    const url = req.url ?? '/';
    if (options.refuseCopy && req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
      if (options.record !== false)
        requests.push({ method: 'PUT', path: url, headers: req.headers, status: 403 });
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
      return;
    }
    if (options.refuseWrites && (req.method === 'PUT' || req.method === 'POST')) {
      if (options.record !== false)
        requests.push({ method: req.method, path: url, headers: req.headers, status: 403 });
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
      return;
    }
    if (
      options.resetGets &&
      req.method === 'GET' &&
      url.includes(options.resetGets.match) &&
      !url.includes('?')
    ) {
      const seen = resets.get(url) ?? 0;
      if (seen < options.resetGets.times) {
        resets.set(url, seen + 1);
        if (options.record !== false)
          requests.push({ method: 'GET', path: url, headers: req.headers, status: 0 });
        req.socket.destroy();
        return;
      }
    }
    if (options.enforceAcl && options.answerAcl && /[?&]acl(=|&|$)/.test(url) && !isAnonymous(req)) {
      answerAclRequest(req, res, objectPath(url), acls, options.record === false ? null : requests);
      return;
    }
    if (options.enforceAcl) {
      const path = objectPath(url);
      const isObject = path.split('/').filter(Boolean).length >= 2;
      const acl = req.headers['x-amz-acl'];
      const writes =
        (req.method === 'PUT' && !url.includes('partNumber=')) ||
        (req.method === 'POST' && url.includes('uploads'));
      if (isObject && writes && !isAnonymous(req)) acls.set(path, typeof acl === 'string' ? acl : 'private');
      if (isObject && isAnonymous(req) && (req.method === 'GET' || req.method === 'HEAD')) {
        const granted = acls.get(path);
        if (granted !== 'public-read' && granted !== 'public-read-write') {
          res.writeHead(403, { 'content-type': 'application/xml' });
          res.end(req.method === 'HEAD' ? undefined : '<Error><Code>AccessDenied</Code></Error>');
          return;
        }
      }
    }
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
    };
    if (options.record !== false) requests.push(entry);
    const forward = () => {
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (response) => {
          entry.status = response.statusCode;
          entry.answeredAt = Date.now();
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      if (options.storeAndForward) {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => upstream.end(Buffer.concat(chunks)));
        req.on('close', () => {
          if (!req.complete) upstream.destroy();
        });
        return;
      }
      // A client that gives up mid-body: abort upstream too, as a real proxy does (else the
      // server waits on a half request — s3rver then stores the half it got, much later).
      req.on('close', () => {
        if (!req.complete) upstream.destroy();
      });
      req.pipe(upstream);
    };
    if (options.latencyMs) setTimeout(forward, options.latencyMs);
    else forward();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    aclOf: (path: string) => acls.get(path),
    count: () => count,
    reset() {
      requests.length = 0;
      count = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface ProxyProcess {
  endpoint: string;
  count(): Promise<number>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** startProxy in a child process (benchmarks: its CPU is its own). */
export async function startProxyProcess(options: {
  target: string;
  latencyMs?: number;
  /** Enforce and answer ACLs as S3 does (ProxyOptions.enforceAcl + answerAcl). */
  acl?: boolean;
}): Promise<ProxyProcess> {
  const { fork } = await import('node:child_process');
  const { join } = await import('node:path');
  const child = fork(join(import.meta.dirname, 'proxy-child.ts'), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = <T>(message?: string): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as T));
      if (message) child.send(message);
    });
  const { endpoint } = await reply<{ endpoint: string }>();
  return {
    endpoint,
    count: async () => (await reply<{ count: number }>('count')).count,
    reset: async () => {
      await reply('reset');
    },
    stop: async () => {
      child.send('stop');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
