/**
 * `sync --metrics-port N` / `worker --metrics-port N`: this process' metrics at
 * http://HOST:N/metrics (nothing else is served). The dashboard's rule: loopback by default;
 * any other address only with `[dashboard] user` and `password`, which then guard it with basic
 * auth (checked by the caller, see metricsCredentials).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Credentials, matches } from '../lib/basic-auth.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './registry.ts';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function serveMetrics(
  metrics: Metrics,
  options: { host: string; port: number; credentials: Credentials | null; log: Logger },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (options.credentials && !matches(req.headers.authorization, options.credentials)) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="mastodon-s3-sync", charset="UTF-8"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.render().then(
      (text) =>
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).end(text),
      (error: Error) => {
        options.log.warn({ err: error.message }, 'metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  server.listen(options.port, options.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  server.unref();
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
