/**
 * Provider quirks as data (one table, no endpoint-substring `if`s elsewhere), recognised by the
 * endpoint's host: the S3 store reads it (no ACL calls where the provider has none) and the
 * runbook reads it (what Mastodon's S3 settings must say).
 */
export interface ProviderQuirks {
  name: string;
  /** Mastodon must send no ACL header (S3_PERMISSION=''): the provider rejects ACLs. */
  noAcl: boolean;
  /** Mastodon needs S3_FORCE_SINGLE_REQUEST=true (the provider rejects chunked uploads). */
  forceSingleRequest: boolean;
  /** The provider lists "directory" keys ending in `/`. */
  directoryKeys: boolean;
}

const GENERIC: ProviderQuirks = {
  name: 'S3-compatible',
  noAcl: false,
  forceSingleRequest: false,
  directoryKeys: false,
};

const PROVIDERS: ReadonlyArray<{ host: RegExp; quirks: ProviderQuirks }> = [
  {
    host: /\.r2\.cloudflarestorage\.com$/i,
    quirks: { name: 'Cloudflare R2', noAcl: true, forceSingleRequest: true, directoryKeys: true },
  },
  { host: /(^|\.)amazonaws\.com$/i, quirks: { ...GENERIC, name: 'Amazon S3' } },
  { host: /(^|\.)wasabisys\.com$/i, quirks: { ...GENERIC, name: 'Wasabi' } },
  { host: /(^|\.)backblazeb2\.com$/i, quirks: { ...GENERIC, name: 'Backblaze B2' } },
  { host: /(^|\.)digitaloceanspaces\.com$/i, quirks: { ...GENERIC, name: 'DigitalOcean Spaces' } },
  { host: /(^|\.)scw\.cloud$/i, quirks: { ...GENERIC, name: 'Scaleway' } },
];

export function providerOf(endpoint: string | undefined): ProviderQuirks {
  if (!endpoint) return { ...GENERIC, name: 'Amazon S3' };
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return GENERIC;
  }
  return PROVIDERS.find((p) => p.host.test(host))?.quirks ?? GENERIC;
}
