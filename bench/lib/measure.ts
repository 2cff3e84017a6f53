/**
 * Runs the real CLI (`bin/mastodon-s3-sync`) once, as a user would, and measures it: wall
 * time, peak RSS and CPU seconds (user + sys) of the node process.
 *
 * Resource usage comes from GNU time (`/usr/bin/time -f`, i.e. wait4's rusage) when it is
 * installed; otherwise from a data: URL preloaded with `--import` that writes
 * `process.resourceUsage()` to a file at exit. Either way the numbers are the kernel's, not
 * a sample. stdout goes to /dev/null (or counted through a pipe when asked), stderr is kept
 * for error messages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHEBANG_NODE_FLAGS } from './shebang.ts';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mastodon-s3-sync');

export interface RunResult {
  seconds: number;
  peakRssMB: number;
  cpuSeconds: number;
  userSeconds: number;
  sysSeconds: number;
  /** Lines on stdout, when `countLines` was asked. */
  lines: number | null;
  /** What the CLI wrote on stderr (first 64 KiB): logs, and warnings worth reporting. */
  stderr: string;
  /** How the numbers were taken: 'gnu-time' or 'resourceUsage'. */
  via: string;
}

export interface RunOptions {
  /** Extra node flags for the child (e.g. --cpu-prof). */
  nodeFlags?: readonly string[];
  /** Count stdout lines through a pipe instead of writing to /dev/null. */
  countLines?: boolean;
  timeoutMs?: number;
}

let gnuTime: boolean | undefined;

/** Whether /usr/bin/time is GNU time (understands -f and -o). */
export function hasGnuTime(): boolean {
  if (gnuTime === undefined) {
    const probe = existsSync('/usr/bin/time')
      ? spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' })
      : null;
    gnuTime = probe !== null && probe.status === 0 && /^\d+\s*$/.test(probe.stderr.trim().split('\n').pop()!);
  }
  return gnuTime;
}

/** Preloaded into the child when GNU time is missing: writes resourceUsage() as JSON to $BENCH_RUSAGE_FILE. */
const RUSAGE_PRELOAD =
  'data:text/javascript,' +
  encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const u = process.resourceUsage();
  writeFileSync(process.env.BENCH_RUSAGE_FILE, JSON.stringify({ maxRSS: u.maxRSS, user: u.userCPUTime, sys: u.systemCPUTime }));
});`,
  );

export class CliFailed extends Error {}

export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'msst-bench-'));
  const usageFile = join(dir, 'usage');
  const useTime = hasGnuTime();
  // The flags of bin/'s shebang, which `node BIN` would not apply (see shebang.ts).
  const nodeArgs = [...SHEBANG_NODE_FLAGS, ...(options.nodeFlags ?? [])];
  if (!useTime) nodeArgs.push('--import', RUSAGE_PRELOAD);
  const command = useTime ? '/usr/bin/time' : process.execPath;
  const commandArgs = useTime
    ? ['-f', '%M %U %S', '-o', usageFile, process.execPath, ...nodeArgs, BIN, ...args]
    : [...nodeArgs, BIN, ...args];

  const devNull = options.countLines ? null : openSync('/dev/null', 'w');
  const started = process.hrtime.bigint();
  try {
    const { code, signal, stderr, lines } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stderr: string;
      lines: number | null;
    }>((resolve, reject) => {
      const child = spawn(command, commandArgs, {
        env: { ...process.env, CONFIG_FILE: '', CONFIG_FILE_NAME: '', BENCH_RUSAGE_FILE: usageFile },
        stdio: ['ignore', devNull ?? 'pipe', 'pipe'],
        // Its own process group: an interrupted bench stops exactly this run (time and node).
        detached: true,
      });
      running.add(child.pid!);
      let stderr = '';
      let lines: number | null = null;
      if (child.stdout) {
        lines = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines!++;
        });
      }
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 64 * 1024) stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        running.delete(child.pid!);
        resolve({ code, signal, stderr, lines });
      });
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) {
      throw new CliFailed(
        `mastodon-s3-sync ${args.join(' ')} exited with ${signal ?? code}\n${stderr.trim()}`.trim(),
      );
    }
    let peakRssKB: number;
    let user: number;
    let sys: number;
    if (useTime) {
      // GNU time writes "Command exited with non-zero status" lines first on failure; the numbers are last.
      const last = readFileSync(usageFile, 'utf8').trim().split('\n').pop()!;
      const [m, u, s] = last.split(/\s+/).map(Number);
      peakRssKB = m!;
      user = u!;
      sys = s!;
    } else {
      const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as {
        maxRSS: number;
        user: number;
        sys: number;
      };
      peakRssKB = usage.maxRSS;
      user = usage.user / 1e6;
      sys = usage.sys / 1e6;
    }
    return {
      seconds,
      peakRssMB: peakRssKB / 1024,
      cpuSeconds: user + sys,
      userSeconds: user,
      sysSeconds: sys,
      lines,
      stderr,
      via: useTime ? 'gnu-time' : 'resourceUsage',
    };
  } finally {
    if (devNull !== null) closeSync(devNull);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pids of CLI runs still going, so an interrupted bench can stop exactly those. */
export const running = new Set<number>();

/** Stops the CLI runs this module started (their process groups, by id). */
export function stopRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
