/**
 * Building an S3 client for any S3-compatible endpoint: keep-alive sockets sized to the
 * concurrency, path-style where the endpoint needs it, the SDK's own retries off (ours count
 * and adapt), and checksums only when required — the SDK's default streams bodies as
 * `aws-chunked`, which s3rver and several real providers store corrupted.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';

/** The AWS SDK's S3 module (commands, client class). */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

/** A built client and the module its commands come from. */
export interface LoadedSdk {
  client: S3Client;
  sdk: S3Sdk;
}

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

/**
 * An S3 client that loads the AWS SDK and builds itself on first use. With static keys every
 * request of a `sync` of ordinary objects (check, lists, GET, PUT) goes through ObjectRequests,
 * so such a run never loads the SDK: ≈ 0.1–0.2 CPU s of module loading and the SDK's first
 * request set-up saved at every start (measured with `--cpu-prof` and dev/cpu-profile.ts).
 */
export class LazyS3Client {
  private loading: Promise<LoadedSdk> | null = null;
  private built: S3Client | null = null;
  private destroyed = false;

  constructor(private readonly settings: S3ClientSettings) {}

  /** The client, built once (concurrent callers share one build). */
  get(): Promise<LoadedSdk> {
    this.loading ??= this.build();
    return this.loading;
  }

  private async build(): Promise<LoadedSdk> {
    const [sdk, { NodeHttpHandler }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@smithy/node-http-handler'),
    ]);
    const settings = this.settings;
    const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, keepAliveMsecs: 10_000 };
    const credentials =
      settings.accessKeyId && settings.secretAccessKey
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
        : undefined;
    const client = new sdk.S3Client({
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
    // Closed while loading: its sockets must not outlive the store.
    if (this.destroyed) client.destroy();
    else this.built = client;
    return { client, sdk };
  }

  /** Closes the client's sockets, if it was ever built. */
  destroy(): void {
    this.destroyed = true;
    this.built?.destroy();
    this.built = null;
  }
}

export function createS3Client(settings: S3ClientSettings): LazyS3Client {
  return new LazyS3Client(settings);
}
