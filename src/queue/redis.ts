/**
 * Redis connections. The first connection fails fast with what was tried (an admin who typed
 * the wrong host should not watch a hang); once connected, a connection retries for ever, so
 * workers ride out a Redis restart (BullMQ needs `maxRetriesPerRequest: null`).
 */
import { Redis } from 'ioredis';
import { ServiceError } from '../errors.ts';
import type { QueueSettings } from './settings.ts';

const CONNECT_TIMEOUT_MS = 5000;

/** Opens a connection and waits until it answers PING, or fails within a few seconds. */
export async function connectRedis(settings: QueueSettings, name: string): Promise<Redis> {
  let connected = false;
  let lastError = '';
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: name,
    // Before the first success: give up (fail fast). After: back off up to 2 s, for ever.
    retryStrategy: (times) => (connected ? Math.min(200 * times, 2000) : null),
  });
  redis.on('error', (error: Error) => {
    lastError = (error as NodeJS.ErrnoException).code ?? error.message;
  });
  try {
    await redis.connect();
    await redis.ping();
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = lastError || (error as Error).message;
    throw new ServiceError(`Redis at ${settings.redisDescription} unreachable: ${reason}`);
  }
}
