/** The dashboard's guard against cross-site actions (pure header checks). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTION_HEADER, crossSiteReason, requestUser } from '../../src/web/csrf.ts';

const own = { host: '127.0.0.1:5555', [ACTION_HEADER]: '1' };

describe('crossSiteReason', () => {
  test("the dashboard's own fetch passes (with or without Origin and Sec-Fetch-Site)", () => {
    assert.equal(crossSiteReason(own), null);
    assert.equal(
      crossSiteReason({ ...own, origin: 'http://127.0.0.1:5555', 'sec-fetch-site': 'same-origin' }),
      null,
    );
    assert.equal(crossSiteReason({ ...own, origin: 'https://127.0.0.1:5555' }), null, 'TLS ended by a proxy');
  });

  test('refused: no header, another origin, an opaque origin, a cross-site fetch', () => {
    assert.match(crossSiteReason({ host: own.host }) ?? '', /header is missing/);
    assert.match(crossSiteReason({ ...own, origin: 'http://evil.example' }) ?? '', /cross-origin/);
    assert.match(crossSiteReason({ ...own, origin: 'null' }) ?? '', /cross-origin/);
    assert.match(crossSiteReason({ ...own, origin: 'http://127.0.0.1:5556' }) ?? '', /cross-origin/);
    assert.match(crossSiteReason({ ...own, 'sec-fetch-site': 'cross-site' }) ?? '', /cross-site/);
    assert.match(crossSiteReason({ ...own, 'sec-fetch-site': 'same-site' }) ?? '', /cross-site/);
  });

  test('requestUser: the basic-auth user, never the password', () => {
    const header = `Basic ${Buffer.from('admin:s3cret:with:colons').toString('base64')}`;
    assert.equal(requestUser({ authorization: header }), 'admin');
    assert.equal(requestUser({}), '');
  });
});
