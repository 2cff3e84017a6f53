/**
 * The dashboard (the original's Flower): an overview page of the distributed run, its JSON at
 * /api/overview, Prometheus metrics at /metrics, and Bull Board under /queues for queue
 * internals.
 *
 * Bull Board can retry, clean and remove jobs; those actions are offered only behind basic
 * auth. Without credentials (allowed on loopback only) it is mounted read-only, so the
 * dashboard has no state-changing endpoint anyone on the machine could call.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Logger } from '../log.ts';
import { Metrics } from '../metrics/registry.ts';
import { metricsOfOverview } from '../metrics/sources.ts';
import type { OverviewReader } from '../queue/overview.ts';
import type { BatchQueue } from '../queue/queues.ts';
import { basicAuth, type Credentials } from './auth.ts';
import { overviewPage } from './page.ts';

export interface DashboardOptions {
  host: string;
  port: number;
  credentials: Credentials | null;
  queues: readonly BatchQueue[];
  overview: OverviewReader;
  log: Logger;
  /** Shown in the page header, e.g. the Redis address (never credentials). */
  title: string;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

export function dashboardApp(options: DashboardOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  if (options.credentials) app.use(basicAuth(options.credentials));

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: options.queues.map(
      (q) => new BullMQAdapter(q, { readOnlyMode: options.credentials === null, allowRetries: true }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'mastodon-s3-sync' } },
  });
  app.use('/queues', board.getRouter());

  app.get('/api/overview', async (_req, res) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.json(await options.overview.read());
    } catch (error) {
      options.log.warn({ err: (error as Error).message }, 'overview failed');
      res.status(503).json({ error: 'Redis unavailable' });
    }
  });
  // Prometheus scrapes the distributed run's totals here (behind the same basic auth).
  const metrics = new Metrics(async () => metricsOfOverview(await options.overview.read()), {
    distributed: true,
  });
  app.get('/metrics', async (_req, res) => {
    try {
      const text = await metrics.render();
      res.setHeader('Cache-Control', 'no-store');
      res.type(metrics.contentType).send(text);
    } catch (error) {
      options.log.warn({ err: (error as Error).message }, 'metrics failed');
      res.status(503).type('text/plain').send('Redis unavailable\n');
    }
  });
  app.get('/', (_req, res) => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    );
    res.type('html').send(overviewPage(options.title, options.credentials !== null));
  });
  return app;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const app = dashboardApp(options);
  const server: Server = app.listen(options.port, options.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
