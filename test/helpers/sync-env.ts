/**
 * Shared pieces of the `sync` integration tests: the raw AWS SDK (never the project's own store
 * code) to seed and inspect buckets, config sections, a spawned CLI that can be signalled, and
 * readers for what the proxy recorded and what the CLI wrote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type FakeRows, insertStatements, sampleBytes } from '../../dev/fake-instance.ts';
import type { RecordedRequest } from '../../dev/proxy.ts';
import { rawClient } from '../../dev/s3.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { BIN, type CliResult, hasStackTrace, writeIni } from './cli.ts';
import type { TestDatabase } from './pg.ts';

/** What Mastodon (and the tool by default) writes as Cache-Control. */
export const MASTODON_CACHE_CONTROL = 'public, max-age=315576000, immutable';

export interface Credentials {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function s3Client(c: Credentials): S3Client {
  return rawClient(c);
}

export function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * Real sample bytes for a key (its content type's sample file), made unique per key by a
 * trailer, so that an object landing under the wrong key is caught by its MD5.
 */
export function uniqueBytes(key: CatalogKey, padding = 0): Buffer {
  const trailer = Buffer.from(`\n${key.key}\n`);
  const parts = [sampleBytes(key), trailer];
  if (padding > 0) {
    const filler = Buffer.alloc(padding);
    const seed = createHash('sha256').update(key.key).digest();
    for (let i = 0; i < padding; i++) filler[i] = seed[i % seed.length]! ^ (i & 0xff);
    parts.push(filler);
  }
  return Buffer.concat(parts);
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface SeedObject {
  key: string;
  body: Buffer;
  contentType: string;
}

export async function putObjects(client: S3Client, bucket: string, objects: readonly SeedObject[]) {
  await inParallel(objects, 12, (o) =>
    client.send(
      new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body, ContentType: o.contentType }),
    ),
  );
}

/** Every key in the bucket with its size. */
export async function listBucket(client: S3Client, bucket: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const o of page.Contents ?? []) found.set(o.Key!, o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

export interface FetchedObject {
  md5: string;
  size: number;
  contentType: string | undefined;
  cacheControl: string | undefined;
}

export async function fetchObject(client: S3Client, bucket: string, key: string): Promise<FetchedObject> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of out.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: hash.digest('hex'), size, contentType: out.ContentType, cacheControl: out.CacheControl };
}

export async function fetchAll(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<Map<string, FetchedObject>> {
  const fetched = await inParallel(keys, 12, (key) => fetchObject(client, bucket, key));
  return new Map(keys.map((key, i) => [key, fetched[i]!]));
}

export async function seedDatabase(db: TestDatabase, rows: FakeRows): Promise<void> {
  for (const statement of insertStatements(rows)) await db.client.query(statement.text, statement.values);
}

/** An `[s3.source]` / `[s3.destination]` section for an S3 store. */
export function s3Section(
  role: 'source' | 'destination',
  c: Credentials,
  bucket: string,
  extra: Record<string, string> = {},
): string {
  const lines = [
    `[s3.${role}]`,
    `access_key = ${c.accessKeyId}`,
    `secret_key = ${c.secretAccessKey}`,
    `endpoint_url = ${c.endpoint}`,
    `bucket = ${bucket}`,
    ...Object.entries(extra).map(([k, v]) => `${k} =${v === '' ? '' : ` ${v}`}`),
  ];
  return `${lines.join('\n')}\n\n`;
}

/** A section for a filesystem store (a Mastodon public/system directory). */
export function fsSection(role: 'source' | 'destination', path: string): string {
  return `[s3.${role}]\ntype = filesystem\npath = ${path}\n\n`;
}

/** `/bucket/key?query` as the proxy records it → bucket and decoded key ('' for bucket requests). */
export function parsePath(path: string): { bucket: string; key: string; query: string } {
  const q = path.indexOf('?');
  const pathname = q === -1 ? path : path.slice(0, q);
  const query = q === -1 ? '' : path.slice(q + 1);
  const [, bucket = '', ...rest] = pathname.split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/'), query };
}

export function objectRequests(requests: readonly RecordedRequest[], method?: string): RecordedRequest[] {
  return requests.filter((r) => parsePath(r.path).key !== '' && (!method || r.method === method));
}

/** Whole-object PUTs: neither a multipart part nor a server-side copy. */
export function plainPuts(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return objectRequests(requests, 'PUT').filter(
    (r) => !parsePath(r.path).query.includes('partNumber=') && r.headers['x-amz-copy-source'] === undefined,
  );
}

export interface SyncSummary {
  copied: number;
  skipped: number;
  missing: number;
  failed: number;
  bytes: number;
  dryRun: boolean;
  tables: Record<string, { copied: number; skipped: number; missing: number; failed: number }>;
}

export function parseSummary(result: CliResult): SyncSummary {
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as SyncSummary;
  } catch {
    throw new Error(
      `no JSON summary on stdout (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
    );
  }
}

export interface ReportEntry {
  status: 'missing' | 'failed';
  key: string;
  table: string;
  id: string;
  attachment: string;
  style: string;
  reason: string;
  alsoTried?: string;
}

export function readReport(path: string): ReportEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ReportEntry);
}

/** Explains a failed run in an assertion message. */
export function describeRun(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal}) after ${result.ms} ms\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
}

/** The real CLI, spawned, for tests that signal it mid-run. */
export function startCli(args: readonly string[], timeoutMs = 60_000): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CONFIG_FILE: '', CONFIG_FILE_NAME: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, done };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The summary's counts, compared as one object so a failure shows the whole run. */
export function assertCounts(
  result: CliResult,
  expected: Partial<Pick<SyncSummary, 'copied' | 'skipped' | 'missing' | 'failed' | 'bytes'>>,
): SyncSummary {
  const summary = parseSummary(result);
  const actual = Object.fromEntries(
    Object.keys(expected).map((k) => [k, summary[k as keyof typeof expected]]),
  );
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `summary counts ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}\n${describeRun(result)}`,
    );
  }
  return summary;
}

/** A run's output shows none of the secrets (access keys included) and no stack trace. */
export function assertClean(result: CliResult, secrets: readonly string[]): void {
  for (const secret of secrets) {
    if (result.stdout.includes(secret) || result.stderr.includes(secret)) {
      throw new Error(`the output shows a secret:\n${describeRun(result)}`);
    }
  }
  if (hasStackTrace(result.stderr)) throw new Error(`stack trace on stderr:\n${describeRun(result)}`);
}

const iniDirs = new Set<string>();

/** writeIni, remembering the directory so that `removeTempInis` can delete it after the tests. */
export function tempIni(text: string): string {
  const path = writeIni(text);
  iniDirs.add(dirname(path));
  return path;
}

export function removeTempInis(): void {
  for (const dir of iniDirs) rmSync(dir, { recursive: true, force: true });
  iniDirs.clear();
}
