/**
 * The migration runbook for the configured stores, as text: pure (config in, text out), so
 * `runbook` prints it and a test reads it. Secrets are never printed: the .env lines carry
 * placeholders for keys.
 */
import type { StoreConfig } from '../config/stores.ts';
import { providerOf } from '../storage/s3/providers.ts';

export interface RunbookInput {
  source: StoreConfig;
  destination: StoreConfig;
  /** The config file the commands should name. */
  configPath: string;
  /** The new media host (S3_ALIAS_HOST), if the admin gave one. */
  aliasHost?: string;
}

function envForS3(dest: Extract<StoreConfig, { type: 's3' }>, aliasHost: string | undefined): string[] {
  const provider = providerOf(dest.endpoint);
  const lines = ['S3_ENABLED=true', `S3_BUCKET=${dest.bucket}`, `S3_REGION=${dest.region}`];
  if (dest.endpoint) {
    const url = new URL(dest.endpoint);
    lines.push(`S3_ENDPOINT=${dest.endpoint.replace(/\/+$/, '')}`);
    lines.push(`S3_PROTOCOL=${url.protocol.replace(':', '')}`);
    lines.push(`S3_HOSTNAME=${url.host}`);
  }
  lines.push('AWS_ACCESS_KEY_ID=<the destination access key>');
  lines.push('AWS_SECRET_ACCESS_KEY=<the destination secret key>');
  if (dest.keyPrefix) lines.push(`S3_KEY_PREFIX=${dest.keyPrefix}`);
  const permission = provider.noAcl ? '' : (dest.acl ?? '');
  if (provider.noAcl || dest.acl !== 'public-read') {
    lines.push(
      `S3_PERMISSION=${permission}${provider.noAcl ? `   # ${provider.name} rejects ACL headers` : ''}`,
    );
  }
  if (provider.forceSingleRequest) lines.push(`S3_FORCE_SINGLE_REQUEST=true   # ${provider.name}`);
  if (dest.storageClass) lines.push(`S3_STORAGE_CLASS=${dest.storageClass}`);
  lines.push(`S3_ALIAS_HOST=${aliasHost ?? '<files.example.com: the host that serves the bucket publicly>'}`);
  return lines;
}

function numbered(steps: string[]): string {
  return steps.map((step, i) => `${i + 1}. ${step.replace(/\n/g, '\n   ')}`).join('\n\n');
}

export function renderRunbook(input: RunbookInput): string {
  const { source, destination } = input;
  const cfg = `--config ${input.configPath}`;
  const publicBase = input.aliasHost
    ? `https://${input.aliasHost.replace(/^https?:\/\//, '')}`
    : '<https://files.example.com>';
  const where = (s: StoreConfig) =>
    s.type === 'filesystem'
      ? `the directory ${s.path}`
      : `bucket ${s.bucket} at ${s.endpoint ?? 'AWS S3'} (${providerOf(s.endpoint).name})`;
  const env =
    destination.type === 's3'
      ? envForS3(destination, input.aliasHost)
      : [
          'S3_ENABLED=false',
          // Mastodon's root is the system directory itself (config/initializers/paperclip.rb:
          // default Rails.root/public/system, keys appended below it).
          `PAPERCLIP_ROOT_PATH=${destination.path.replace(/\/+$/, '')}   # holds media_attachments/, accounts/, …`,
        ];
  const oldUrls =
    source.type === 'filesystem'
      ? `location /system/ {\n  # Old local media URLs: serve what is still on disk, else send to the new host.\n  try_files $uri @media_moved;\n}\nlocation @media_moved {\n  return 301 ${publicBase}$request_uri;\n}`
      : `server {\n  # The old media host: redirect every old URL to the new one.\n  server_name <old media host>;\n  location / { return 301 ${publicBase}$request_uri; }\n}`;
  const steps = [
    `Content-Security-Policy, a week ahead. Mastodon allows media only from its own media host in
its Content-Security-Policy (img-src, media-src, connect-src come from S3_ALIAS_HOST /
S3_HOSTNAME). Browsers and the web app keep pages and the service worker cached for days: put
the new host ${publicBase} in front of users a week before switching (e.g. add it to
EXTRA_MEDIA_HOSTS, available since Mastodon 4.2), or images will be blocked for them.`,
    `Check the configuration and preview the work:
  mastodon-s3-sync config check ${cfg}
  mastodon-s3-sync plan --format summary ${cfg}      # objects, bytes, requests per table`,
    `Bulk copy while the instance stays live (resumable; run it again after any interruption):
  mastodon-s3-sync sync ${cfg}
(large instances: mastodon-s3-sync jobs / worker / dashboard, see "Distributed mode")
From ${where(source)}
to   ${where(destination)}.`,
    `Verify before switching:
  mastodon-s3-sync verify ${cfg} --public-url ${publicBase} --sample 2000 --report verify.ndjson`,
    `Follow the live instance until the switch (in tmux/screen, or as a service):
  mastodon-s3-sync sync --follow --json ${cfg}
It goes on from where the bulk copy ended and prints one JSON line per pass: "copied" is what
that pass found new (uploads, remote media, replaced avatars; suspensions re-apply ACLs),
"lagSeconds" stays within about one interval (30 s) while users post, and is 0 when a pass
finds nothing left to copy. Leave it running through the next two steps.
(Distributed: mastodon-s3-sync jobs --follow --json ${cfg} with the workers running; each pass
waits for the workers, and the dashboard shows the lag.)`,
    `Switch Mastodon's storage: in .env.production set\n${env.map((l) => `  ${l}`).join('\n')}\nthen restart web, sidekiq and streaming. From then on Mastodon writes new files to the
destination itself: follow finds their rows, sees the objects already there and skips them.`,
    `Wait for the last writes to the old store: once a pass after the restart prints
"copied":0 and "lagSeconds":0, every object the old store received is at the destination.
Stop follow with Ctrl-C or kill -TERM: it finishes its pass, saves its position, prints the
summary and exits 0. (Without follow: mastodon-s3-sync sync --since last ${cfg} copies what
changed since the bulk copy, without listing any bucket.)`,
    `Verify everything, as the public sees it:
  mastodon-s3-sync verify ${cfg} --public-url ${publicBase} --report verify.ndjson`,
    `Keep old URLs working (posts and caches on other servers still link them), in nginx:\n${oldUrls}`,
    `Keep the old store untouched for a while. To see what it holds that no row references:
  mastodon-s3-sync orphans ${cfg}      # read-only, never deletes`,
  ];
  return `Migration runbook: ${where(source)} → ${where(destination)}\n\n${numbered(steps)}\n`;
}
