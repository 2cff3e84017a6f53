/**
 * Runs any command once and measures it with GNU time (wait4's rusage): wall seconds, peak
 * RSS and user+sys CPU of the process. Used to compare this tool with rclone on equal terms.
 * Each run starts with the disk's dirty pages written out (`sync`): the S3 servers keep their
 * objects in files, and otherwise the run after the seeding (1.4 GB) or after another tool's
 * run paid for those writes while it was measured.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Timed {
  seconds: number;
  peakRssMB: number;
  cpuSeconds: number;
  userSeconds: number;
  sysSeconds: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

export async function timed(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Timed> {
  const dir = mkdtempSync(join(tmpdir(), 'msst-timed-'));
  const usage = join(dir, 'usage');
  spawnSync('sync');
  const started = process.hrtime.bigint();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', usage, command, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < 1 << 20) stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 1 << 16) stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const last = readFileSync(usage, 'utf8').trim().split('\n').pop() ?? '0 0 0';
  rmSync(dir, { recursive: true, force: true });
  const [rssKB, user, sys] = last.split(/\s+/).map(Number) as [number, number, number];
  return {
    seconds,
    peakRssMB: rssKB / 1024,
    cpuSeconds: user + sys,
    userSeconds: user,
    sysSeconds: sys,
    ...result,
  };
}
