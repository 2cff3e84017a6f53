/**
 * The hand-written signer against the SDK's SignatureV4: the same request, the same instant,
 * the same headers signed → the same Authorization header, for GET, PUT with metadata, part
 * uploads with a query, keys that need encoding, virtual-hosted and path-style hosts, and
 * across a day boundary (the cached signing key must change with the date).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { encodeKey } from '../../src/storage/s3/object-requests.ts';
import { canonicalQuery, rfc3986, SigV4Signer, UNSIGNED_PAYLOAD } from '../../src/storage/s3/sigv4.ts';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data) =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
class Sha256 {
  private hash;
  constructor(secret?: Data) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Data): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/** The SDK's signature of the same request, signing exactly the headers ours signs. */
async function sdkAuthorization(
  region: string,
  method: string,
  host: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  now: number,
): Promise<string> {
  const sdk = new SignatureV4({
    service: 's3',
    region,
    credentials: CREDENTIALS,
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const unsigned = Object.keys(headers).filter(
    (h) => !(h === 'host' || h === 'content-md5' || h === 'content-type' || h.startsWith('x-amz-')),
  );
  const signed = await sdk.sign(
    {
      method,
      protocol: 'https:',
      hostname: host,
      path,
      query,
      headers: { ...headers, host, 'x-amz-content-sha256': UNSIGNED_PAYLOAD },
    },
    { signingDate: new Date(now), unsignableHeaders: new Set(unsigned) },
  );
  return signed.headers['authorization']!;
}

const NOW = Date.UTC(2026, 11, 2, 23, 59, 59, 500);

describe('SigV4Signer', () => {
  const cases: Array<{
    name: string;
    region: string;
    method: string;
    host: string;
    key: string;
    query: Record<string, string>;
    headers: Record<string, string>;
  }> = [
    {
      name: 'GET, path-style',
      region: 'us-east-1',
      method: 'GET',
      host: '127.0.0.1:9000',
      key: 'bucket/media_attachments/files/109/000/000/000/000/001/original/a.png',
      query: {},
      headers: {},
    },
    {
      name: 'PUT with metadata and ACL, virtual-hosted',
      region: 'eu-central-1',
      method: 'PUT',
      host: 'files.example.s3.eu-central-1.amazonaws.com',
      key: 'accounts/avatars/000/000/001/original/x.jpg',
      query: {},
      headers: {
        'content-length': '12345',
        'content-type': 'image/jpeg',
        'cache-control': 'public, max-age=315576000, immutable',
        'x-amz-acl': 'public-read',
        'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==',
        'x-amz-storage-class': 'STANDARD_IA',
      },
    },
    {
      name: 'part upload with a query, a key that needs encoding',
      region: 'auto',
      method: 'PUT',
      host: 'r2.example:443',
      key: 'bucket/site_uploads/files/000/000/001/@1x/f (1)+ü*!.png',
      query: { partNumber: '7', uploadId: 'a/b+c=d~e' },
      headers: { 'content-length': '8388608' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const path = `/${encodeKey(c.key)}`;
      const ours = new SigV4Signer(CREDENTIALS, c.region).sign(
        c.method,
        path,
        c.query,
        { ...c.headers, host: c.host },
        NOW,
      );
      const theirs = await sdkAuthorization(c.region, c.method, c.host, path, c.query, c.headers, NOW);
      assert.equal(ours['authorization'], theirs);
      assert.equal(ours['x-amz-date'], '20261202T235959Z');
      assert.equal(ours['x-amz-content-sha256'], UNSIGNED_PAYLOAD);
    });
  }

  test('the cached signing key follows the date across midnight', async () => {
    const signer = new SigV4Signer(CREDENTIALS, 'us-east-1');
    const path = '/bucket/a';
    for (const now of [NOW, NOW + 1000, NOW + 86_400_000]) {
      const ours = signer.sign('GET', path, {}, { host: 'h' }, now);
      assert.equal(ours['authorization'], await sdkAuthorization('us-east-1', 'GET', 'h', path, {}, {}, now));
    }
  });

  test('canonical query: sorted by name, RFC 3986 encoded', () => {
    assert.equal(canonicalQuery({}), '');
    assert.equal(canonicalQuery({ uploadId: "x y!'", partNumber: '2' }), 'partNumber=2&uploadId=x%20y%21%27');
  });
});

describe('encodeKey and rfc3986: the fast path for unreserved text gives the same encoding', () => {
  const slow = (text: string) =>
    encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const KEYS = [
    'media_attachments/files/000/000/001/original/abc-DEF_1.2~x.png',
    'cache/accounts/avatars/108/361/296/738/754/794/original/a.png',
    "emoji/it's (a) *star*!.png",
    'a b/ü/😀.png',
    'x+y=z/%41/?#&',
    '',
    '/',
  ];
  for (const key of KEYS) {
    test(JSON.stringify(key), () => {
      assert.equal(encodeKey(key), key.split('/').map(slow).join('/'));
      assert.equal(rfc3986(key), slow(key));
    });
  }
});
