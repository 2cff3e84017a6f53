/**
 * A long-running CLI whose stdout is one JSON object per line (`sync --follow --json`,
 * `jobs --follow --json`), spawned as an admin runs it, for tests that wait on its lines and
 * signal it mid-run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, type CliResult } from './cli.ts';

export interface JsonLinesCli {
  child: ChildProcess;
  /** JSON lines printed so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line `match` accepts (rejects after `ms`, or when it exits first). */
  waitFor(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  done: Promise<CliResult>;
}

export function startJsonLines(args: readonly string[], killAfterMs = 120_000): JsonLinesCli {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CONFIG_FILE: '', CONFIG_FILE_NAME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const text of complete) if (text.trim()) lines.push(JSON.parse(text) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
  const waitFor = (match: (line: Record<string, unknown>) => boolean, ms = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no matching line in ${ms} ms:\n${stdout}\n--- stderr ---\n${stderr}`)),
        ms,
      );
      const check = () => {
        const found = lines.find(match);
        if (found) {
          clearTimeout(deadline);
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`exited (${child.exitCode ?? child.signalCode}) first:\n${stdout}\n${stderr}`));
        } else waiters.push(check);
      };
      check();
    });
  return { child, lines, waitFor, done };
}
