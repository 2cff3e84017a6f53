/** unsafeKeyReason: every way a key could escape a root or confuse a store, and real keys that must pass. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unsafeKeyReason } from '../../src/storage/keys.ts';

const BASE = 'media_attachments/files/000/000/001/original';

describe('unsafeKeyReason: unsafe keys', () => {
  const UNSAFE: Array<[name: string, key: string, reason: RegExp]> = [
    ['empty key', '', /empty key/],
    ['".." segment', `${BASE}/../../../etc/passwd`, /".." path segment/],
    ['".." alone', '..', /".." path segment/],
    ['".." at the start', '../media_attachments/x.png', /".." path segment/],
    ['".." at the end', `${BASE}/..`, /".." path segment/],
    ['"." segment', `${BASE}/./a.png`, /"\." path segment/],
    ['"." alone', '.', /"\." path segment/],
    ['leading slash', `/${BASE}/a.png`, /absolute path/],
    ['only a slash', '/', /absolute path/],
    ['empty segment (double slash)', 'media_attachments//files/a.png', /empty path segment/],
    ['trailing slash', `${BASE}/`, /empty path segment/],
    ['NUL', `${BASE}/a\u0000.png`, /control character/],
    ['NUL at the end', `${BASE}/a.png\u0000`, /control character/],
    ['newline', `${BASE}/a\n.png`, /control character/],
    ['carriage return', `${BASE}/a\r.png`, /control character/],
    ['tab', `${BASE}/a\t.png`, /control character/],
    ['escape', `${BASE}/a\u001b[31m.png`, /control character/],
    ['unit separator 0x1f', `${BASE}/a\u001f.png`, /control character/],
    ['DEL', `${BASE}/a\u007f.png`, /control character/],
    ['backslash', `${BASE}/a\\b.png`, /backslash/],
    ['backslash traversal', `${BASE}/..\\..\\x.png`, /backslash/],
    ['1025 ASCII bytes', `${BASE}/${'a'.repeat(1025 - BASE.length - 1)}`, /longer than 1024 bytes/],
    ['2000 ASCII bytes', 'a'.repeat(2000), /longer than 1024 bytes/],
    // 400 characters but 1200 bytes in UTF-8: the limit is in bytes, as S3's.
    ['multibyte: 400 × "日" (1200 bytes)', `${BASE}/${'日'.repeat(400)}`, /longer than 1024 bytes/],
    ['multibyte: 2-byte characters just over', `${'é'.repeat(512)}x`, /longer than 1024 bytes/],
    ['emoji: 4 bytes each, 257 of them', '😀'.repeat(257), /longer than 1024 bytes/],
  ];
  for (const [name, key, reason] of UNSAFE) {
    test(name, () => {
      const result = unsafeKeyReason(key);
      assert.notEqual(result, null, `${JSON.stringify(key.slice(0, 80))} must be unsafe`);
      assert.match(result!, reason);
    });
  }
});

describe('unsafeKeyReason: safe keys', () => {
  const SAFE: Array<[name: string, key: string]> = [
    ['media original', `${BASE}/bc84838f77991326.mp4`],
    ['media small', 'media_attachments/files/021/130/559/small/bc84838f77991326.png'],
    [
      'cache/ key with 18-digit partition',
      'cache/media_attachments/files/108/361/296/738/754/794/original/5785ab0a51d0db1f.gif',
    ],
    ['cache/ account avatar static', 'cache/accounts/avatars/000/000/002/static/a.png'],
    ['site upload style @1x', 'site_uploads/files/000/000/003/@1x/accf17b0104f18e5.png'],
    ['site upload numeric style', 'site_uploads/files/000/000/003/192/accf17b0104f18e5.png'],
    ['unicode file name', 'custom_emojis/images/000/000/005/original/ñandú_日本語_😀.png'],
    ['spaces and punctuation', `${BASE}/my file (1) [final] #2 100%.png`],
    ['dots inside names', `${BASE}/a..b...png`],
    ['a name starting with dots', `${BASE}/...hidden`],
    ['a name of three dots', `${BASE}/...`],
    ['a dotfile', `${BASE}/.htaccess`],
    ['key prefix', 'mastodon/media_attachments/files/000/000/001/original/a.png'],
    ['non-breaking space and U+2028', `${BASE}/a\u00a0b\u2028c.png`],
    ['exactly 1024 ASCII bytes', `${BASE}/${'a'.repeat(1024 - BASE.length - 1)}`],
    ['exactly 1024 bytes in 2-byte characters', 'é'.repeat(512)],
    ['single segment', 'a'],
  ];
  for (const [name, key] of SAFE) {
    test(name, () => {
      assert.equal(unsafeKeyReason(key), null, JSON.stringify(key.slice(0, 80)));
    });
  }

  test('the 1024-byte boundary is in UTF-8 bytes', () => {
    assert.equal(Buffer.byteLength('é'.repeat(512)), 1024);
    assert.equal(unsafeKeyReason('é'.repeat(512)), null);
    assert.notEqual(unsafeKeyReason(`${'é'.repeat(512)}a`), null);
    assert.notEqual(unsafeKeyReason(`${'é'.repeat(511)}日`), null); // 1022 + 3 bytes
  });
});
