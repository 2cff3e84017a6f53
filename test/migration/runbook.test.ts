/** The runbook text for typical store pairs (pure: config in, text out). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreConfig } from '../../src/config/stores.ts';
import { renderRunbook } from '../../src/migration/runbook.ts';
import { providerOf } from '../../src/storage/s3/providers.ts';

function s3(
  endpoint: string | undefined,
  acl: string | null = 'public-read',
  extra: Partial<StoreConfig> = {},
): StoreConfig {
  return {
    type: 's3',
    role: 'destination',
    section: 's3.destination',
    ...(endpoint ? { endpoint } : {}),
    region: 'auto',
    bucket: 'media',
    accessKeyId: 'AKIA-NEVER-PRINTED',
    secretAccessKey: 'secret-never-printed',
    forcePathStyle: 'auto',
    keyPrefix: '',
    acl,
    cacheControl: 'public, max-age=315576000, immutable',
    storageClass: '',
    accountId: 'x',
    ...extra,
  } as StoreConfig;
}
const local: StoreConfig = {
  type: 'filesystem',
  role: 'source',
  section: 's3.source',
  path: '/home/mastodon/live/public/system',
  acl: 'public-read',
  cacheControl: '',
};

describe('runbook', () => {
  it('local → Cloudflare R2: empty S3_PERMISSION, single requests, nginx fallback for /system/', () => {
    const text = renderRunbook({
      source: local,
      destination: s3('https://abc.r2.cloudflarestorage.com', null),
      configPath: 'private/config.ini',
      aliasHost: 'files.example.com',
    });
    assert.match(text, /^ {5}S3_PERMISSION= {3}# Cloudflare R2 rejects ACL headers$/m);
    assert.match(text, /S3_FORCE_SINGLE_REQUEST=true/);
    assert.match(text, /S3_ENDPOINT=https:\/\/abc\.r2\.cloudflarestorage\.com/);
    assert.match(text, /location \/system\/ \{/);
    assert.match(text, /return 301 https:\/\/files\.example\.com\$request_uri/);
    assert.match(text, /Content-Security-Policy, a week ahead/);
    assert.ok(text.indexOf('sync --config') < text.indexOf('S3_ENABLED=true'), 'bulk sync before the switch');
    assert.ok(
      text.indexOf('S3_ENABLED=true') < text.indexOf('sync --since last'),
      'delta sync after the switch',
    );
    assert.ok(text.indexOf('sync --since last') < text.lastIndexOf('verify'), 'verify last');
    // The cut-over with follow: started after the bulk copy, running through the switch,
    // stopped once a pass after the restart copies nothing, then verify.
    const follow = text.indexOf('sync --follow');
    assert.ok(text.indexOf('sync --config') < follow && follow < text.indexOf('S3_ENABLED=true'));
    const wait = text.indexOf('"lagSeconds":0');
    assert.ok(text.indexOf('S3_ENABLED=true') < wait && wait < text.lastIndexOf('verify --config'));
    assert.match(text, /kill -TERM: it finishes its pass, saves its position/);
    // Distributed: jobs --follow in the same step.
    const jobsFollow = text.indexOf('jobs --follow --json');
    assert.ok(follow < jobsFollow && jobsFollow < text.indexOf('S3_ENABLED=true'));
  });
  it('never prints keys, only placeholders', () => {
    const text = renderRunbook({
      source: s3('https://s3.old.example'),
      destination: s3('https://s3.new.example'),
      configPath: 'c.ini',
    });
    assert.ok(!text.includes('AKIA-NEVER-PRINTED') && !text.includes('secret-never-printed'));
    assert.match(text, /AWS_ACCESS_KEY_ID=<the destination access key>/);
    assert.match(text, /server_name <old media host>/);
    assert.doesNotMatch(text, /S3_PERMISSION/); // public-read is Mastodon's default
  });
  it('a key prefix and a private ACL are carried over', () => {
    const text = renderRunbook({
      source: local,
      destination: s3('https://s3.example', 'private', { keyPrefix: 'masto' } as Partial<StoreConfig>),
      configPath: 'c.ini',
    });
    assert.match(text, /S3_KEY_PREFIX=masto/);
    assert.match(text, /S3_PERMISSION=private/);
  });
  it("S3 → filesystem: PAPERCLIP_ROOT_PATH is the directory holding the keys (Mastodon's root is public/system itself)", () => {
    const text = renderRunbook({
      source: s3('https://s3.old.example'),
      destination: { ...local, role: 'destination', section: 's3.destination' } as StoreConfig,
      configPath: 'c.ini',
    });
    // config/initializers/paperclip.rb: path = PAPERCLIP_ROOT_PATH (default Rails.root/public/system)
    // + /:class/:attachment/… — so the key media_attachments/files/… lives directly below it.
    assert.match(text, /^\s*PAPERCLIP_ROOT_PATH=\/home\/mastodon\/live\/public\/system(\s|$)/m);
    assert.match(text, /S3_ENABLED=false/);
  });
  it('providers are recognised by host', () => {
    assert.equal(providerOf('https://acc.r2.cloudflarestorage.com').name, 'Cloudflare R2');
    assert.equal(providerOf('https://s3.eu-central-1.wasabisys.com').name, 'Wasabi');
    assert.equal(providerOf(undefined).name, 'Amazon S3');
    assert.equal(providerOf('http://127.0.0.1:9000').noAcl, false);
  });
});
