/** Building a store from its config. */
import type { StoreConfig } from '../config/stores.ts';
import { FsStore } from './fs/store.ts';
import { createS3Client, usePathStyle } from './s3/client.ts';
import { ObjectRequests } from './s3/object-requests.ts';
import { providerOf } from './s3/providers.ts';
import { S3Store } from './s3/store.ts';
import type { ObjectStore } from './types.ts';
import type { UploadJournal } from './upload-journal.ts';

export interface StoreTuning {
  concurrency: number;
  multipartThreshold: number;
  partSize: number;
  /** Records open multipart uploads (destination stores of copying commands). */
  journal?: UploadJournal;
}

export function openStore(config: StoreConfig, tuning: StoreTuning): ObjectStore {
  if (config.type === 'filesystem') return new FsStore(config.path);
  const client = createS3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    ...(config.accessKeyId ? { accessKeyId: config.accessKeyId } : {}),
    ...(config.secretAccessKey ? { secretAccessKey: config.secretAccessKey } : {}),
    forcePathStyle: config.forcePathStyle,
    maxSockets: tuning.concurrency + 8,
  });
  const objectRequests =
    config.accessKeyId && config.secretAccessKey
      ? new ObjectRequests({
          endpoint: config.endpoint ?? `https://s3.${config.region}.amazonaws.com`,
          region: config.region,
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
          pathStyle: usePathStyle(config.forcePathStyle, config.endpoint),
          bucket: config.bucket,
          maxSockets: tuning.concurrency + 8,
        })
      : undefined;
  return new S3Store({
    ...(objectRequests ? { objectRequests } : {}),
    client,
    bucket: config.bucket,
    keyPrefix: config.keyPrefix,
    endpointLabel: config.endpoint ?? `aws:${config.region}`,
    provider: providerOf(config.endpoint),
    storageClass: config.storageClass,
    multipartThreshold: tuning.multipartThreshold,
    partSize: tuning.partSize,
    maxMultipart: Math.max(1, Math.min(4, tuning.concurrency)),
    ...(tuning.journal ? { journal: tuning.journal } : {}),
  });
}
