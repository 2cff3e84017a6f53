/**
 * Provider quirks are data the S3 store reads: for a provider without ACLs (Cloudflare R2)
 * no ACL header and no ACL request is ever sent, whatever `acl` asks — checked on the wire
 * through a recording proxy in front of s3rver.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type Proxy as RecordingProxy, startProxy } from '../../dev/proxy.ts';
import { type S3Server, startS3Server } from '../../dev/s3.ts';
import { createS3Client } from '../../src/storage/s3/client.ts';
import { ObjectRequests } from '../../src/storage/s3/object-requests.ts';
import { providerOf } from '../../src/storage/s3/providers.ts';
import { S3Store } from '../../src/storage/s3/store.ts';

const KEYS = { accessKeyId: 'QUIRK-ACCESS-1', secretAccessKey: 'quirk-Secret-k9j8h7' };
let server: S3Server;
let proxy: RecordingProxy;

function store(provider: ReturnType<typeof providerOf>): S3Store {
  const endpoint = proxy.endpoint;
  return new S3Store({
    client: createS3Client({ endpoint, region: 'auto', ...KEYS, forcePathStyle: 'true', maxSockets: 4 }),
    objectRequests: new ObjectRequests({
      endpoint,
      region: 'auto',
      ...KEYS,
      pathStyle: true,
      bucket: 'quirks',
      maxSockets: 4,
    }),
    bucket: 'quirks',
    keyPrefix: '',
    endpointLabel: endpoint,
    storageClass: '',
    multipartThreshold: 15 * 1024 * 1024,
    partSize: 8 * 1024 * 1024,
    maxMultipart: 1,
    provider,
  });
}

before(async () => {
  server = await startS3Server({ buckets: ['quirks'], ...KEYS });
  proxy = await startProxy({ target: server.endpoint });
});
after(async () => {
  await proxy?.stop();
  await server?.stop();
});

describe('provider quirks', () => {
  test('Cloudflare R2: no ACL header on writes or copies, no ACL calls', async () => {
    const r2 = store(providerOf('https://abc.r2.cloudflarestorage.com'));
    assert.equal(providerOf('https://abc.r2.cloudflarestorage.com').noAcl, true);
    proxy.reset();
    const body = Buffer.from('hello');
    await r2.write('a/b.txt', Readable.from([body]), {
      size: body.length,
      contentType: 'text/plain',
      cacheControl: 'x',
      acl: 'public-read',
    });
    await r2.replaceMetadata('a/b.txt', { contentType: 'text/plain', cacheControl: 'y', acl: 'private' });
    await r2.setAcl('a/b.txt', 'private');
    const meta = await r2.metadataOf('a/b.txt', true);
    assert.equal(meta?.access, undefined, 'no ACL read');
    assert.ok(proxy.requests.length >= 3);
    for (const r of proxy.requests) {
      assert.equal(r.headers['x-amz-acl'], undefined, `${r.method} ${r.path}`);
      assert.doesNotMatch(r.path, /[?&]acl/, `${r.method} ${r.path}`);
    }
    await r2.close();
  });
  test('a provider with ACLs gets them', async () => {
    const s3 = store(providerOf(undefined));
    proxy.reset();
    const body = Buffer.from('hello');
    await s3.write('a/c.txt', Readable.from([body]), {
      size: body.length,
      contentType: 'text/plain',
      cacheControl: 'x',
      acl: 'public-read',
    });
    assert.equal(proxy.requests.find((r) => r.method === 'PUT')?.headers['x-amz-acl'], 'public-read');
    await s3.close();
  });
});
