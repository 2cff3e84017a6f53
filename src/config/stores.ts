/**
 * Store settings from [s3.source] / [s3.destination], validated across keys (a bucket for
 * s3, a path for filesystem), plus what is needed to decide whether a server-side copy is
 * possible (same endpoint, region and credentials).
 */
import { createHash } from 'node:crypto';
import { type ConfigFile, configRelativePath, getSection, keyError, type SectionOf } from './load.ts';
import { DESTINATION, SOURCE } from './schema.ts';

export type StoreRole = 'source' | 'destination';

export type StoreConfig =
  | {
      type: 's3';
      role: StoreRole;
      section: string;
      endpoint?: string;
      region: string;
      bucket: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      forcePathStyle: 'auto' | 'true' | 'false';
      keyPrefix: string;
      acl: string | null;
      cacheControl: string;
      storageClass: string;
      /** Same value for two stores on the same account: a server-side copy can work. */
      accountId: string;
    }
  | {
      type: 'filesystem';
      role: StoreRole;
      section: string;
      path: string;
      acl: string | null;
      cacheControl: string;
    };

function accountId(s: SectionOf<typeof SOURCE>): string {
  const endpoint = (s.endpoint_url ?? '').replace(/\/+$/, '').toLowerCase();
  return createHash('sha256')
    .update([endpoint, s.region, s.access_key ?? '', s.secret_key ?? ''].join('\n'))
    .digest('hex');
}

export function storeConfig(file: ConfigFile, role: StoreRole): StoreConfig {
  const def = role === 'source' ? SOURCE : DESTINATION;
  const s = getSection(file, def, true);
  const acl = s.acl === '' ? null : s.acl;
  if (s.type === 'filesystem') {
    if (!s.path) throw keyError(file, def.name, 'path', 'missing (required when type = filesystem)');
    return {
      type: 'filesystem',
      role,
      section: def.name,
      path: configRelativePath(file, s.path),
      acl,
      cacheControl: s.cache_control,
    };
  }
  if (!s.bucket) throw keyError(file, def.name, 'bucket', 'missing (required when type = s3)');
  if (!/^[a-zA-Z0-9._-]{1,255}$/.test(s.bucket))
    throw keyError(file, def.name, 'bucket', 'not a valid bucket name');
  if (Boolean(s.access_key) !== Boolean(s.secret_key)) {
    throw keyError(
      file,
      def.name,
      s.access_key ? 'secret_key' : 'access_key',
      'set both access_key and secret_key, or neither',
    );
  }
  const config: StoreConfig = {
    type: 's3',
    role,
    section: def.name,
    region: s.region,
    bucket: s.bucket,
    forcePathStyle: s.force_path_style,
    keyPrefix: s.key_prefix,
    acl,
    cacheControl: s.cache_control,
    storageClass: s.storage_class,
    accountId: accountId(s),
  };
  if (s.endpoint_url) config.endpoint = s.endpoint_url;
  if (s.access_key) config.accessKeyId = s.access_key;
  if (s.secret_key) config.secretAccessKey = s.secret_key;
  return config;
}
