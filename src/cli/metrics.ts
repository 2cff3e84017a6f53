/** `--metrics-port N [--metrics-host H]` of `sync` and `worker`: this process' /metrics. */
import { ServiceError } from '../errors.ts';
import type { MetricsSnapshot } from '../metrics/registry.ts';
import type { Cleanup, CommandContext } from './context.ts';
import { webCredentials } from './web-credentials.ts';

export interface MetricsFlags {
  metricsPort?: number;
  metricsHost?: string;
}

/** Starts the metrics server when `--metrics-port` was given (closed by `cleanup`). */
export async function startProcessMetrics(
  ctx: CommandContext,
  flags: MetricsFlags,
  cleanup: Cleanup,
  snapshot: () => MetricsSnapshot,
): Promise<void> {
  if (flags.metricsPort === undefined) return;
  const host = flags.metricsHost ?? '127.0.0.1';
  const credentials = webCredentials(ctx, host);
  // Loaded only when asked for: prom-client is not part of every run's start.
  const [{ Metrics }, { serveMetrics }] = await Promise.all([
    import('../metrics/registry.ts'),
    import('../metrics/server.ts'),
  ]);
  const metrics = new Metrics(async () => snapshot(), { distributed: false });
  let server: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    server = await serveMetrics(metrics, { host, port: flags.metricsPort, credentials, log: ctx.log });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ServiceError(`metrics: cannot listen on ${host}:${flags.metricsPort} (${code})`);
  }
  cleanup.add(() => server.close());
  ctx.log.info({ url: server.url, auth: credentials !== null }, `metrics on ${server.url}`);
}
