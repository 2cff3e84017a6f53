/** `dashboard`: the web UI (the original's Flower on :5555), until Ctrl-C. */
import { getSection } from '../config/load.ts';
import { DASHBOARD } from '../config/schema.ts';
import { ServiceError } from '../errors.ts';
import { QueueControl } from '../queue/control.ts';
import { OverviewReader } from '../queue/overview.ts';
import { ThroughputSamples } from '../queue/samples.ts';
import { startDashboard } from '../web/server.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { openQueueEnvironment } from './queue.ts';
import type { Interrupts } from './sync.ts';
import { webCredentials } from './web-credentials.ts';

export interface DashboardFlags {
  host?: string;
  port?: number;
}

export async function runDashboardCommand(
  ctx: CommandContext,
  flags: DashboardFlags,
  cleanup: Cleanup,
  interrupts: Interrupts,
): Promise<number> {
  const config = getSection(ctx.file, DASHBOARD, false);
  const host = flags.host ?? config.host;
  const port = flags.port ?? config.port;
  const credentials = webCredentials(ctx, host);
  const { settings, queues, progress, redis } = await openQueueEnvironment(ctx, cleanup, 'dashboard');
  const overview = new OverviewReader(progress, queues);
  const samples = new ThroughputSamples(redis, progress.keys, config.sample_seconds * 1000);
  samples.start(() => overview.read(), ctx.log);
  cleanup.add(async () => samples.stop());
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  try {
    dashboard = await startDashboard({
      host,
      port,
      credentials,
      queues: [...queues.values()],
      overview,
      control: new QueueControl({ queues, progress, settings }, ctx.log),
      problems: (limit) => progress.problems(limit),
      samples: () => samples.list(),
      log: ctx.log,
      title: `Redis ${settings.redisDescription}, prefix ${settings.prefix}`,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ServiceError(`dashboard: cannot listen on ${host}:${port} (${code})`);
  }
  cleanup.add(() => dashboard.close());
  ctx.log.info(
    { url: dashboard.url, auth: credentials !== null, queues: '/queues' },
    `dashboard on ${dashboard.url}`,
  );
  await new Promise<void>((resolve) =>
    interrupts.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  return 0;
}
