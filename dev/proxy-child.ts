// A proxy (dev/proxy.ts) in its own process, so that piping bytes for a benchmark does not
// share one event loop with the benchmark itself or with another proxy. Controlled over IPC:
// argv[2] = JSON { target, latencyMs, acl }; messages 'count' → { count }, 'reset', 'stop'.
import { startProxy } from './proxy.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as { target: string; latencyMs?: number; acl?: boolean };
const proxy = await startProxy({
  target: options.target,
  latencyMs: options.latencyMs ?? 0,
  record: false,
  ...(options.acl ? { enforceAcl: true, answerAcl: true } : {}),
});
process.send?.({ endpoint: proxy.endpoint });
process.on('message', async (message: string) => {
  if (message === 'count') process.send?.({ count: proxy.count() });
  if (message === 'reset') {
    proxy.reset();
    process.send?.({ reset: true });
  }
  if (message === 'stop') {
    await proxy.stop();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
