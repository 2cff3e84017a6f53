/**
 * Distributed mode's settings, resolved once from the config: `[queue]` keys with the original
 * tool's `[celery]` keys as fallbacks, so a config written for the Python tool works unchanged.
 */
import type { ConfigFile } from '../config/load.ts';
import { getSection, keyError } from '../config/load.ts';
import { CELERY, QUEUE } from '../config/schema.ts';

export interface QueueSettings {
  /** The Redis URL (may hold a password: never print it, use `redisDescription`). */
  redisUrl: string;
  /** `host:port/db` of the Redis server, without credentials. */
  redisDescription: string;
  /** Objects one worker copies at once. */
  concurrency: number;
  /** Redis key prefix of queues and counters. */
  prefix: string;
  batchSize: number;
  maxWaiting: number;
  attempts: number;
  lockMs: number;
}

/** `host:port/db` of a Redis URL, without user or password. */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '') || '0';
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}/${db}`;
}

export function queueSettings(file: ConfigFile): QueueSettings {
  const queue = getSection(file, QUEUE, false);
  const celery = getSection(file, CELERY, false);
  const redisUrl = queue.redis ?? celery.broker;
  if (!redisUrl) {
    throw keyError(
      file,
      QUEUE.name,
      'redis',
      'distributed mode needs a Redis URL ([queue] redis or [celery] broker)',
    );
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(queue.prefix)) {
    throw keyError(file, QUEUE.name, 'prefix', 'expected letters, digits, "_", "." or "-" (at most 64)');
  }
  return {
    redisUrl,
    redisDescription: describeRedisUrl(redisUrl),
    concurrency: queue.concurrency ?? celery.concurrency ?? 16,
    prefix: queue.prefix,
    batchSize: queue.batch_size,
    maxWaiting: queue.max_waiting,
    attempts: queue.attempts,
    lockMs: queue.lock_seconds * 1000,
  };
}
