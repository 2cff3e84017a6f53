/**
 * A real S3 protocol server (s3rver) in a child process on 127.0.0.1, for the demo, tests and
 * benchmarks. A child process keeps its CPU off the caller's event loop, and its credential
 * registry apart from other servers'. Runs with --openssl-legacy-provider, without which
 * s3rver's ListObjectsV2 continuation tokens fail on Node 20.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  port: number;
  directory: string;
  /** The credentials this server accepts (besides s3rver's S3RVER/S3RVER). */
  accessKeyId: string;
  secretAccessKey: string;
  pid: number;
  stop(options?: { keepFiles?: boolean }): Promise<void>;
}

export interface S3ServerOptions {
  buckets: string[];
  accessKeyId?: string;
  secretAccessKey?: string;
  directory?: string;
  port?: number;
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'msst-s3-'));
  const accessKeyId = options.accessKeyId ?? 'S3RVER';
  const secretAccessKey = options.secretAccessKey ?? 'S3RVER';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(import.meta.dirname, 's3rver-child.mjs'),
      JSON.stringify({
        port: options.port ?? 0,
        directory,
        buckets: options.buckets,
        credentials: [[accessKeyId, secretAccessKey]],
      }),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --openssl-legacy-provider`.trim(),
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited early (code ${code})`)));
    child.once('error', reject);
  });
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    accessKeyId,
    secretAccessKey,
    pid: child.pid!,
    async stop({ keepFiles = false } = {}) {
      if (!stopped) {
        stopped = true;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        child.kill('SIGKILL');
      }
      if (!keepFiles && !options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * A plain SDK client for a test server, for seeding and checking objects independently of the
 * tool's own store code (checksums only when required: see the dependency notes).
 */
export function rawClient(server: Pick<S3Server, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
