/**
 * Redis for tests: the machine's server on 127.0.0.1:6379 with a prefix of the test's own
 * (cleaned up after), or a private redis-server with persistence that a test can restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './sshd.ts';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

export function testPrefix(name: string): string {
  return `msst-test-${name}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under a prefix. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SHUTDOWN, so its append-only file is complete) and starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of the test's own, with persistence (appendonly), on a free loopback port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'msst-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    const server = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes', '--save', ''],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = server;
    let output = '';
    server.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
      server.stdout!.on('data', (d: string) => {
        output += d;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
    });
    server.stdout!.resume();
  };
  const shutdown = async () => {
    const server = child;
    if (!server || server.exitCode !== null) return;
    const exited = once(server, 'exit');
    const admin = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, lazyConnect: true });
    await admin
      .connect()
      .then(() => admin.shutdown('SAVE'))
      .catch(() => server.kill('SIGTERM'));
    admin.disconnect();
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async restart(downMs = 1000) {
      await shutdown();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
