/**
 * Building an S3 client for any S3-compatible endpoint: keep-alive sockets sized to the
 * concurrency, path-style where the endpoint needs it, the SDK's own retries off (ours count
 * and adapt), and checksums only when required — the SDK's default streams bodies as
 * `aws-chunked`, which s3rver and several real providers store corrupted.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: 'auto' | 'true' | 'false';
  /** Sockets per client: the copy concurrency plus headroom for listings. */
  maxSockets: number;
  connectTimeoutMs?: number;
  /** Idle time on a socket before a request fails as a timeout (retryable). */
  socketTimeoutMs?: number;
}

/** Path-style for IP addresses and localhost, where virtual-hosted bucket names cannot resolve. */
export function usePathStyle(
  setting: S3ClientSettings['forcePathStyle'],
  endpoint: string | undefined,
): boolean {
  if (setting !== 'auto') return setting === 'true';
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

export function createS3Client(settings: S3ClientSettings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, keepAliveMsecs: 10_000 };
  const credentials =
    settings.accessKeyId && settings.secretAccessKey
      ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
      : undefined;
  return new S3Client({
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    region: settings.region,
    ...(credentials ? { credentials } : {}),
    forcePathStyle: usePathStyle(settings.forcePathStyle, settings.endpoint),
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: settings.connectTimeoutMs ?? 10_000,
      requestTimeout: settings.socketTimeoutMs ?? 120_000,
    }),
  });
}
