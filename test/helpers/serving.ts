/**
 * A CLI that serves HTTP (`dashboard`, `worker --metrics-port 0`, …), spawned as an admin runs
 * it, with the URL read from the line it logs when it listens (`<what> on http://…`).
 */
import { describeRun, type RunningCli, sleep, startCli } from './sync-env.ts';

export interface Serving {
  url: string;
  run: RunningCli;
  /** Its stderr so far. */
  log(): string;
}

/** `args` must log at info level (the "<what> on <url>" line); gives up after 20 s. */
export async function startServing(
  args: readonly string[],
  what: string,
  killAfterMs = 300_000,
): Promise<Serving> {
  const run = startCli(args, killAfterMs);
  let stderr = '';
  run.child.stderr!.on('data', (d: Buffer | string) => {
    stderr += d.toString();
  });
  const pattern = new RegExp(`${what} on (http://127\\.0\\.0\\.1:\\d+/\\S*)`);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(stderr);
    if (match) return { url: match[1]!, run, log: () => stderr };
    if (run.child.exitCode !== null) throw new Error(`${what} exited:\n${describeRun(await run.done)}`);
    await sleep(50);
  }
  throw new Error(`${what} did not start:\n${stderr}`);
}
