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
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Logger } from '../log.ts';
import { Metrics } from '../metrics/registry.ts';
import { metricsOfOverview } from '../metrics/sources.ts';
import { type ControlAction, isTableName, type QueueControl } from '../queue/control.ts';
import type { OverviewReader } from '../queue/overview.ts';
import type { BatchQueue } from '../queue/queues.ts';
import { basicAuth, type Credentials } from './auth.ts';
import { crossSiteReason, requestUser } from './csrf.ts';
import { overviewPage } from './page.ts';

export interface DashboardOptions {
  host: string;
  port: number;
  credentials: Credentials | null;
  queues: readonly BatchQueue[];
  overview: OverviewReader;
  /** Reads and actions per table (actions only behind basic auth). */
  control: QueueControl;
  /** The latest problems (GET /api/problems). */
  problems: (limit: number) => Promise<unknown[]>;
  /** The throughput chart's samples of the last hour (GET /api/samples). */
  samples: () => Promise<unknown[]>;
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
    await answer(res, options, () => options.overview.read());
  });
  app.get('/api/samples', async (_req, res) => {
    await answer(res, options, () => options.samples());
  });
  // The chart library, served from the project itself (no CDN: dashboards run offline).
  app.get('/assets/uplot.js', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type('application/javascript').sendFile(UPLOT_JS);
  });
  app.get('/assets/uplot.css', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type('text/css').sendFile(UPLOT_CSS);
  });
  app.get('/api/problems', async (req, res) => {
    const limit = Math.min(100, Math.max(1, Number(req.query['limit'] ?? 20) || 20));
    await answer(res, options, () => options.problems(limit));
  });
  app.get('/api/tables/:table/failed', async (req, res) => {
    const table = req.params.table;
    if (!isTableName(table)) return void res.status(404).json({ error: 'no such table' });
    await answer(res, options, () => options.control.failed(table));
  });
  // Actions: POST only, behind basic auth, from the dashboard's own page (csrf.ts), logged.
  app.post('/api/tables/:table/:action', async (req, res) => {
    const { table, action } = req.params;
    if (!isTableName(table)) return void res.status(404).json({ error: 'no such table' });
    if (!ACTIONS.has(action)) return void res.status(404).json({ error: 'no such action' });
    if (!options.credentials) {
      return void res
        .status(403)
        .json({ error: 'read-only: actions need basic auth ([dashboard] user and password)' });
    }
    const refused = crossSiteReason(req.headers);
    if (refused) {
      options.log.warn({ table, action, reason: refused }, 'dashboard action refused');
      return void res.status(403).json({ error: `refused: ${refused}` });
    }
    const user = requestUser(req.headers);
    await answer(res, options, async () => {
      const result = await options.control.run(table, action as ControlAction);
      options.log.info({ user, from: req.socket.remoteAddress, ...result }, 'dashboard action');
      return result;
    });
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
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'",
    );
    res.type('html').send(overviewPage(options.title, options.credentials !== null));
  });
  // Anything that escaped a route (a malformed URL, a bad body): a plain answer, never a stack.
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    options.log.warn({ err: error.message }, 'dashboard request failed');
    if (!res.headersSent) res.status(400).type('text/plain').send('bad request\n');
  });
  return app;
}

const ACTIONS = new Set<string>(['pause', 'resume', 'retry-failed']);

const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot')));
const UPLOT_JS = join(UPLOT_DIST, 'uPlot.iife.min.js');
const UPLOT_CSS = join(UPLOT_DIST, 'uPlot.min.css');

/** Answers with `read()`'s JSON, or 503 when Redis fails. */
async function answer(res: express.Response, options: DashboardOptions, read: () => Promise<unknown>) {
  try {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await read());
  } catch (error) {
    options.log.warn({ err: (error as Error).message }, 'dashboard request failed');
    res.status(503).json({ error: 'Redis unavailable' });
  }
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
