/** The listing parser of the lean object requests: what ListObjectsV2 documents hold. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeXmlText, parseListing } from '../../src/storage/s3/object-requests.ts';

const page = (entries: string, truncated: boolean) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>media_attachments/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>${entries}</ListBucketResult>`;

describe('parseListing', () => {
  test('keys, sizes and ETags without quotes; truncation', () => {
    const xml = page(
      `<Contents><Key>media_attachments/files/1/original/a.png</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>12345</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>media_attachments/files/1/small/a.png</Key><ETag>"d41d8cd98f00b204e9800998ecf8427e-2"</ETag><Size>0</Size></Contents>`,
      true,
    );
    assert.deepEqual(parseListing(xml), {
      items: [
        {
          key: 'media_attachments/files/1/original/a.png',
          size: 12345,
          etag: '0cc175b9c0f1b6a831c399e269772661',
        },
        { key: 'media_attachments/files/1/small/a.png', size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e-2' },
      ],
      truncated: true,
    });
  });

  test('an empty page, not truncated', () => {
    assert.deepEqual(parseListing(page('', false)), { items: [], truncated: false });
  });

  test('keys with XML-escaped characters, numeric references and non-ASCII text', () => {
    const xml = page(
      '<Contents><Key>site_uploads/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#38; &#x1F600; ü.png</Key><Size>1</Size></Contents>',
      false,
    );
    assert.equal(parseListing(xml).items[0]!.key, `site_uploads/a&b <c> "d" 'e' & 😀 ü.png`);
  });

  test('decodeXmlText leaves text without entities as it is', () => {
    assert.equal(decodeXmlText('plain/key.png'), 'plain/key.png');
    assert.equal(decodeXmlText('&amp;amp;'), '&amp;');
  });
});
