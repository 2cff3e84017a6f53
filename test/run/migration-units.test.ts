/** Unit tests of the migration workflow's pure parts: --since, scopes, orphans' key set, verify's comparisons. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { KeySet, keyHash } from '../../src/run/orphans.ts';
import { isDisposableCache, scopePasses, scopeProblem } from '../../src/run/scope.ts';
import { parseSince } from '../../src/run/state.ts';
import { compareListed, publicUrlOf, Reservoir } from '../../src/run/verify.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

function key(over: Partial<CatalogKey>): CatalogKey {
  return {
    key: 'media_attachments/files/000/000/001/original/a.png',
    table: 'media_attachments',
    id: '1',
    attachment: 'file',
    style: 'original',
    contentType: 'image/png',
    size: 10,
    remote: false,
    acl: 'public-read',
    ...over,
  };
}

describe('parseSince', () => {
  for (const [input, expected] of [
    ['6h', NOW - 6 * 3_600_000],
    ['90m', NOW - 90 * 60_000],
    ['2d', NOW - 2 * 86_400_000],
    ['1w', NOW - 7 * 86_400_000],
    ['30s', NOW - 30_000],
    ['1.5h', NOW - 1.5 * 3_600_000],
    ['2026-11-30T18:00:00Z', Date.UTC(2026, 10, 30, 18)],
    ['2026-11-30T18:00:00', Date.UTC(2026, 10, 30, 18)], // no zone: UTC, as Mastodon stores times
    ['2026-11-30 18:00:00', Date.UTC(2026, 10, 30, 18)],
    ['2026-11-30T19:00:00+01:00', Date.UTC(2026, 10, 30, 18)],
    ['2026-11-30', Date.UTC(2026, 10, 30)],
  ] as const) {
    it(`${input}`, () => assert.equal(parseSince(input, NOW).getTime(), expected));
  }
  for (const bad of ['yesterday', '', '6 hours', '-1h', '2027-01-01T00:00:00Z', '12345', 'last week']) {
    it(`refuses ${JSON.stringify(bad)} as a usage error`, () => {
      assert.throws(
        () => parseSince(bad, NOW),
        (e: Error & { exitCode?: number }) => e.exitCode === 2,
      );
    });
  }
});

describe('scopes', () => {
  const local = key({});
  const remoteMedia = key({ remote: true, key: 'cache/media_attachments/files/000/000/001/original/a.png' });
  const legacyRemote = key({ remote: true });
  const remoteAvatar = key({
    remote: true,
    table: 'accounts',
    attachment: 'avatar',
    key: 'cache/accounts/avatars/1/original/a.png',
  });
  const remoteCard = key({
    remote: true,
    table: 'preview_cards',
    attachment: 'image',
    key: 'cache/preview_cards/images/1/original/a.png',
  });
  const keep = (flags: Parameters<typeof scopePasses>[0]) =>
    scopePasses(flags).map((p) => [
      p.name,
      [local, remoteMedia, remoteAvatar, remoteCard].filter(p.keep).length,
    ]);

  it('default: local first, then remote', () => {
    assert.deepEqual(keep({}), [
      ['local', 1],
      ['remote', 3],
    ]);
  });
  it('default: a remote key outside cache/ (before 3.1.4) goes with the local pass: disjoint prefixes', () => {
    const [first, second] = scopePasses({});
    assert.equal(first!.keep(legacyRemote), true);
    assert.equal(second!.keep(legacyRemote), false);
  });
  it('--local-only / --remote-only: one pass', () => {
    assert.deepEqual(keep({ localOnly: true }), [['local', 1]]);
    assert.deepEqual(keep({ remoteOnly: true }), [['remote', 3]]);
  });
  it('--skip-remote-cache keeps remote avatars, drops remote media and preview cards', () => {
    assert.deepEqual(keep({ skipRemoteCache: true }), [
      ['local', 1],
      ['remote', 1],
    ]);
    assert.equal(isDisposableCache(remoteAvatar), false);
    assert.equal(isDisposableCache(remoteCard), true);
  });
  it('contradictions are usage errors', () => {
    assert.match(scopeProblem({ localOnly: true, remoteOnly: true })!, /exclude/);
    assert.match(scopeProblem({ localOnly: true, skipRemoteCache: true })!, /means nothing/);
    assert.equal(scopeProblem({ remoteOnly: true, skipRemoteCache: true }), null);
  });
});

describe('orphans key set', () => {
  it('finds what was added, not what was not', () => {
    const set = new KeySet();
    const keys = Array.from({ length: 5000 }, (_, i) => `media_attachments/files/${i}/original/x${i}.png`);
    for (const k of keys) set.add(k);
    assert.equal(set.count, 5000);
    for (const k of keys) assert.ok(set.has(k));
    for (let i = 5000; i < 6000; i++) assert.ok(!set.has(`media_attachments/files/${i}/original/x${i}.png`));
    assert.ok(!set.has('media_attachments/'));
  });
  it('hashes are exact 53-bit integers', () => {
    for (const k of ['a', 'é/ü', '🐘/x']) {
      const h = keyHash(k);
      assert.ok(Number.isSafeInteger(h) && h >= 0);
    }
  });
});

describe('verify comparisons', () => {
  const item = key({});
  const info = (size: number, etag?: string) => ({ key: item.key, size, ...(etag ? { etag } : {}) });
  it('in place', () => assert.equal(compareListed(item, info(10), info(10), false), null));
  it('absent at the destination', () =>
    assert.equal((compareListed(item, info(10), null, false) as { kind: string }).kind, 'absent'));
  it('absent at both: not a destination problem', () =>
    assert.equal(compareListed(item, null, null, false), 'missing-at-source'));
  it('only at the destination (copied from its alternate place): fine', () =>
    assert.equal(compareListed(item, null, info(3), false), null));
  it('size differs', () =>
    assert.equal((compareListed(item, info(10), info(9), false) as { kind: string }).kind, 'size'));
  it('MD5 differs, only with --checksum and both MD5s', () => {
    const a = info(10, 'a'.repeat(32));
    const b = info(10, 'b'.repeat(32));
    assert.equal(compareListed(item, a, b, false), null);
    assert.equal((compareListed(item, a, b, true) as { kind: string }).kind, 'md5');
    assert.equal(compareListed(item, a, info(10, `${'b'.repeat(32)}-2`), true), null);
  });
  it('public URLs encode each segment', () => {
    assert.equal(
      publicUrlOf('https://files.example.com/', 'a b/c#d/é.png'),
      'https://files.example.com/a%20b/c%23d/%C3%A9.png',
    );
  });
  it("public URLs keep the destination's key prefix, as Mastodon's do (s3_prefixes_in_alias 0)", () => {
    const key = 'media_attachments/files/000/000/001/original/a.png';
    assert.equal(
      publicUrlOf('https://files.example.com', key, 'masto/live'),
      `https://files.example.com/masto/live/${key}`,
    );
    assert.equal(publicUrlOf('https://files.example.com', key, ''), `https://files.example.com/${key}`);
  });
  it('reservoir keeps at most N, uniformly', () => {
    const r = new Reservoir<number>(10, () => 0.999);
    for (let i = 0; i < 100; i++) r.add(i);
    assert.equal(r.items.length, 10);
  });
});
