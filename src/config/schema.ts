/**
 * Every config section and key: type, default, help and secrecy in one place. The sample INI
 * (`private/config.sample.ini`), the redaction list and validation all come from here.
 * The original tool's sections and keys keep their names and meaning; everything else is an
 * optional addition with a default.
 */
import { z } from 'zod/v3';
import { boolean, byteSize, choice, type Field, integer, integerOrAuto, text, url } from './fields.ts';

export interface SectionDef<F extends Record<string, Field<unknown>>> {
  name: string;
  help: string;
  fields: F;
  schema: z.ZodType<{ [K in keyof F]: F[K] extends Field<infer T> ? T : never }>;
}

function section<F extends Record<string, Field<unknown>>>(
  name: string,
  help: string,
  fields: F,
): SectionDef<F> {
  const shape = Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.schema]));
  return { name, help, fields, schema: z.object(shape).strict() as never };
}

export const MASTODON_CACHE_CONTROL = 'public, max-age=315576000, immutable';

function storeSection(name: 's3.source' | 's3.destination', role: string) {
  return section(name, `The ${role} store: an S3-compatible bucket, or a Mastodon public/system directory.`, {
    type: choice(['s3', 'filesystem'] as const, {
      default: 's3',
      help: 's3 for any S3-compatible service; filesystem for a local public/system directory (set path).',
    }),
    access_key: text({
      optional: true,
      secret: true,
      help: 'Access key id (type = s3).',
      example: 'access_key',
    }),
    secret_key: text({
      optional: true,
      secret: true,
      help: 'Secret access key (type = s3).',
      example: 'secret_key',
    }),
    endpoint_url: url(['https', 'http'], {
      optional: true,
      help: "Endpoint URL; empty for AWS itself (set region). Mastodon's S3_ENDPOINT.",
      example: 'https://s3.example.com',
    }),
    bucket: text({
      optional: true,
      help: "Bucket name (type = s3). Mastodon's S3_BUCKET.",
      example: 'bucket-name',
    }),
    region: text({ default: 'us-east-1', help: "Region. Mastodon's S3_REGION." }),
    force_path_style: choice(['auto', 'true', 'false'] as const, {
      default: 'auto',
      help: 'Path-style addressing (endpoint/bucket/key). auto: on for IP-address and localhost endpoints.',
    }),
    key_prefix: text({
      default: '',
      help: "Mastodon's S3_KEY_PREFIX (4.3+): keys are stored under this prefix plus '/'. Empty for none.",
    }),
    path: text({
      optional: true,
      commented: true,
      help: 'type = filesystem: the public/system directory (PAPERCLIP_ROOT_PATH).',
      example: '/home/mastodon/live/public/system',
    }),
    acl: text({
      default: 'public-read',
      help: "Canned ACL for objects written here (Mastodon's S3_PERMISSION); backups are always private. Empty: send no ACL header (Cloudflare R2).",
    }),
    cache_control: text({
      default: MASTODON_CACHE_CONTROL,
      help: 'Cache-Control written with every object, as Mastodon writes it.',
    }),
    storage_class: text({
      default: '',
      help: "Storage class for written objects (Mastodon's S3_STORAGE_CLASS); empty for the provider's default.",
    }),
  });
}

export const SOURCE = storeSection('s3.source', 'source');
export const DESTINATION = storeSection('s3.destination', 'destination');

export const DATABASE = section('pg.database', "Mastodon's PostgreSQL database. Opened read-only.", {
  host: text({
    default: '127.0.0.1',
    help: 'Host (as seen from the SSH server when the tunnel is enabled). DB_HOST.',
  }),
  port: integer({ default: 5432, min: 1, max: 65535, help: 'Port. DB_PORT.' }),
  user: text({ default: 'mastodon', help: 'User. DB_USER.' }),
  password: text({ default: '', secret: true, help: 'Password. DB_PASS.' }),
  database: text({ default: 'mastodon_production', help: 'Database name. DB_NAME.' }),
  schema: text({ default: 'public', help: 'Schema holding the Mastodon tables.' }),
  sslmode: choice(['disable', 'require', 'verify-ca', 'verify-full'] as const, {
    default: 'disable',
    help: 'TLS to the database: disable, require (encrypt, no certificate check), verify-ca, verify-full.',
  }),
  ssl_ca: text({
    optional: true,
    commented: true,
    help: 'CA certificate file for verify-ca / verify-full (relative paths: to this file).',
  }),
  connect_timeout: integer({
    default: 10,
    min: 1,
    max: 600,
    help: 'Seconds to wait for a connection before failing.',
  }),
  batch_size: integer({
    default: 1000,
    min: 1,
    max: 100000,
    help: 'Rows read per query (keyset pagination). Larger batches cost memory, not speed.',
  }),
});

export const TUNNEL = section('pg.tunnel', 'Reach the database through an SSH tunnel.', {
  enabled: boolean({ default: false, help: 'true to connect through SSH.' }),
  ssh_host: text({ optional: true, help: 'SSH server.', example: 'your_server_ip' }),
  ssh_port: integer({ default: 22, min: 1, max: 65535, help: 'SSH port.' }),
  ssh_user: text({ default: 'root', help: 'SSH user.' }),
  ssh_password: text({ default: '', secret: true, help: 'SSH password (empty: key authentication only).' }),
  ssh_key: text({
    default: '',
    help: 'Private key file (ed25519 or RSA), relative to the directory of this file (private/ for the default).',
    example: 'id_ed25519',
  }),
  ssh_key_passphrase: text({ default: '', secret: true, help: 'Passphrase of ssh_key, if it has one.' }),
  host_fingerprint: text({
    default: '',
    help: "The SSH server's host key fingerprint as `ssh-keygen -lf` prints it (SHA256:...). This or known_hosts is required: an unverified server is refused.",
  }),
  known_hosts: text({
    default: '',
    help: 'An OpenSSH known_hosts file to verify the server against (relative paths: to this file).',
  }),
  local_host: text({ default: '127.0.0.1', help: 'Local address the tunnel listens on.' }),
  local_port: integer({
    default: 0,
    min: 0,
    max: 65535,
    help: 'Local port the tunnel listens on; 0 picks a free one.',
  }),
});

export const CELERY = section(
  'celery',
  "The original tool's worker settings; used as fallbacks for [queue] and [sync].",
  {
    broker: url(['redis', 'rediss'], {
      optional: true,
      help: 'Redis URL (fallback for [queue] redis).',
      example: 'redis://localhost:6379/0',
    }),
    backend: text({
      optional: true,
      help: 'Accepted for compatibility; unused.',
      example: 'redis://localhost:6379/0',
    }),
    log_level: choice(['debug', 'info', 'warning', 'warn', 'error', 'critical'] as const, {
      default: 'info',
      help: 'Log level: debug, info, warning, error, critical.',
    }),
    concurrency: integer({
      optional: true,
      min: 1,
      max: 1024,
      help: 'Fallback for [sync] and [queue] concurrency.',
      example: '5',
    }),
  },
);

export const SYNC = section('sync', 'Copy settings (sync, jobs --dev, worker).', {
  concurrency: integerOrAuto({
    optional: true,
    commented: true,
    min: 1,
    max: 1024,
    help: 'Objects copied at once, or auto (sync: start at 8 and raise it while objects/s rises and nothing is throttled, up to max_concurrency). Default: [celery] concurrency, else 16.',
    example: '16',
  }),
  max_concurrency: integer({
    default: 256,
    min: 1,
    max: 1024,
    help: 'The most objects concurrency = auto ever copies at once.',
  }),
  retries: integer({
    default: 5,
    min: 0,
    max: 100,
    help: 'Attempts after the first for a transient failure (503, reset, timeout).',
  }),
  retry_passes: integer({
    default: 2,
    min: 0,
    max: 10,
    help: 'sync: after the main pass, copy again the keys that still failed with a transient error, this many more times (each pass waits a little longer first). Fatal errors are never retried.',
  }),
  multipart_threshold: byteSize({
    // Not Mastodon's 15MB: parts are streamed one after another, so below S3's 5 GB limit
    // they only add requests and round trips (and the SDK calls that open and close them).
    default: 200 * 1024 ** 2,
    defaultText: '200MB',
    min: 5 * 1024 ** 2,
    max: 5 * 1024 ** 3,
    help: 'Objects above this size are uploaded in parts (as rclone: 200MB; Mastodon uploads in parts above 15MB).',
  }),
  part_size: byteSize({
    default: 8 * 1024 ** 2,
    defaultText: '8MB',
    min: 5 * 1024 ** 2,
    max: 5 * 1024 ** 3,
    help: 'Multipart part size; memory use is about concurrency x 2 x part_size at worst.',
  }),
  server_side_copy: choice(['auto', 'always', 'never'] as const, {
    default: 'auto',
    help: 'Copy inside the provider when source and destination share endpoint and credentials.',
  }),
  max_requests_per_second: integer({
    default: 0,
    min: 0,
    max: 100000,
    help: 'Cap on requests per second to each store; 0 for none.',
  }),
});

export const QUEUE = section('queue', 'Distributed mode (BullMQ on Redis).', {
  redis: url(['redis', 'rediss'], {
    optional: true,
    commented: true,
    help: 'Redis URL. Default: [celery] broker.',
    example: 'redis://localhost:6379/0',
  }),
  concurrency: integer({
    optional: true,
    commented: true,
    min: 1,
    max: 1024,
    help: 'Objects each worker copies at once. Default: [celery] concurrency, else 16.',
    example: '16',
  }),
  prefix: text({ default: 'mastodon-s3-sync', help: 'Redis key prefix for queues and counters.' }),
  batch_size: integer({
    default: 200,
    min: 1,
    max: 10000,
    help: 'Rows per queued job (a job carries the keys of its rows, about 250 bytes each).',
  }),
  max_waiting: integer({
    default: 50,
    min: 1,
    max: 1000000,
    help: 'The producer pauses while a queue holds more waiting jobs than this (bounds Redis memory).',
  }),
  attempts: integer({
    default: 3,
    min: 1,
    max: 100,
    help: 'Attempts per job; a job whose keys keep failing ends failed, listing them.',
  }),
  lock_seconds: integer({
    default: 30,
    min: 2,
    max: 3600,
    help: "How soon a killed worker's job is picked up again (BullMQ lock and stalled check).",
  }),
});

export const DASHBOARD = section('dashboard', 'The web dashboard (replaces Flower).', {
  host: text({
    default: '127.0.0.1',
    help: 'Address to listen on. Anything but loopback requires user and password.',
  }),
  port: integer({ default: 5555, min: 1, max: 65535, help: 'Port (Flower used 5555).' }),
  user: text({ default: '', help: 'Basic-auth user.' }),
  password: text({
    default: '',
    secret: true,
    help: 'Basic-auth password. With user and password set, the dashboard also offers its controls (pause, resume, retry failed).',
  }),
  sample_seconds: integer({
    default: 10,
    min: 1,
    max: 60,
    help: "Seconds between the throughput chart's samples (kept in Redis for an hour).",
  }),
});

export const SECTIONS = [SOURCE, DESTINATION, DATABASE, TUNNEL, CELERY, SYNC, QUEUE, DASHBOARD] as const;
export type SectionName = (typeof SECTIONS)[number]['name'];
export type SectionValue<S extends SectionDef<Record<string, Field<unknown>>>> = z.output<S['schema']>;
