/**
 * The ObjectStore contract (src/storage/types.ts) as one suite that runs unchanged against
 * every store set-up, as rclone's fstests do: `describeObjectStore(name, setup)`. Each case
 * gets a fresh, empty store (its own bucket, directory or account). Where a store
 * legitimately differs, the set-up says so — through `store.features` and the optional
 * methods (read at run time), through the set-up's options (`listOrder`,
 * `checkCreatesMissing`, …), or as a named entry in `gaps` (the case is then skipped with
 * that reason, so every gap shows in the test output).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, type TestContext, test } from 'node:test';
import { isStoreError, ShortBodyError, StoreError } from '../../src/storage/errors.ts';
import { FsStore } from '../../src/storage/fs/store.ts';
import type { ObjectStore, WriteOptions } from '../../src/storage/types.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

export type CaseId =
  | 'absent'
  | 'round-trip'
  | 'empty-object'
  | 'buffer-body'
  | 'buffer-md5-mismatch'
  | 'overwrite'
  | 'unusual-keys'
  | 'key-below-key'
  | 'key-below-key-order'
  | 'key-prefix-order'
  | 'md5-accepted'
  | 'md5-mismatch'
  | 'backend-keys'
  | 'key-prefix-hidden'
  | 'list-order'
  | 'list-order-start-after'
  | 'list-start-after'
  | 'list-prefix'
  | 'list-partial-prefix'
  | 'list-paging'
  | 'list-max-keys'
  | 'short-body'
  | 'long-body'
  | 'failing-body'
  | 'store-error-body'
  | 'aborted-write'
  | 'pre-aborted-write'
  | 'large-write'
  | 'large-short-body'
  | 'large-long-body'
  | 'large-failing-body'
  | 'large-aborted-write'
  | 'copy-foreign'
  | 'copy'
  | 'copy-missing'
  | 'metadata'
  | 'acl'
  | 'replace-metadata'
  | 'check'
  | 'check-missing'
  | 'check-refused';

/** One fresh store and a view of its backend that does not go through it. */
export interface StoreHandle {
  store: ObjectStore;
  /**
   * Everything the backend holds, by its own names (bucket keys; files below the root,
   * temporary files included; map keys), sorted any way: the key prefix shows here.
   */
  rawKeys(): Promise<string[]>;
  /** Stores bytes under a full backend key beside the store (seeding; objects outside its prefix). */
  putRaw(fullKey: string, data: Buffer): Promise<void>;
  /** A fresh store on the same account (another bucket), between which a server-side copy can work. */
  sibling?(): Promise<StoreHandle>;
  /** Clean-up beyond store.close() (a temporary directory). */
  dispose?(): Promise<void>;
}

export interface ConformanceSetup {
  /** A fresh, empty store. */
  fresh(): Promise<StoreHandle>;
  /** A store of this kind whose bucket or directory does not exist. */
  missing(): Promise<ObjectStore>;
  /** A store of this kind whose credentials the backend refuses, where the set-up can make one. */
  refused?(): Promise<ObjectStore>;
  /** The key prefix the store applies ('' or absent for none). */
  keyPrefix?: string;
  /** Writes above `threshold` bytes take the store's multipart path. */
  multipart?: { threshold: number; partSize: number };
  /** Keys per listing page when the store pages (S3: 1,000); the paging case lists more. */
  pageSize?: number;
  /** metadataOf(…, true) and setAcl tell and change who may read an object. */
  acl?: boolean;
  /** The order list() returns keys in: UTF-8 bytes (S3, the contract's default) or UTF-16 code units. */
  listOrder?: 'utf8' | 'utf16';
  /** check({ write: true }) creates a missing directory instead of failing (the filesystem). */
  checkCreatesMissing?: boolean;
  /** Cases this set-up cannot pass, each with why (a legitimate difference, or a known bug). */
  gaps?: Partial<Record<CaseId, string>>;
  /** Per-case time limit (default 30 s). */
  timeoutMs?: number;
  before?(): Promise<void>;
  after?(): Promise<void>;
  /** More tests for this set-up only, registered inside its describe (after its hooks). */
  more?(): void;
}

// ---------------------------------------------------------------------------------------------
// data and bodies

export const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Deterministic bytes (differing from offset to offset) for small objects. */
function pattern(length: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * seed + (i >> 8) + 3) & 0xff;
  return out;
}

const DATA = pattern(70_000);
const PREVIOUS = Buffer.from('the previous content, which a failed write must leave intact');
const CHUNK = 64 * 1024;

/** A byte stream (not object mode) of data in chunks, as a socket delivers it. */
export function bodyOf(data: Buffer, chunk = CHUNK): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) chunks.push(data.subarray(at, at + chunk));
  return Readable.from(chunks, { objectMode: false });
}

/** Yields `data` up to `at` bytes, then runs `then` (which may throw) and yields the rest. */
function interruptedBody(data: Buffer, at: number, then: () => void | Promise<void>): Readable {
  async function* generate() {
    for (let offset = 0; offset < at; offset += CHUNK)
      yield data.subarray(offset, Math.min(offset + CHUNK, at));
    await then();
    for (let offset = at; offset < data.length; offset += CHUNK) yield data.subarray(offset, offset + CHUNK);
  }
  return Readable.from(generate(), { objectMode: false });
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function writeOptions(size: number, extra: Partial<WriteOptions> = {}): WriteOptions {
  return { size, contentType: 'image/png', cacheControl: 'public, max-age=60', acl: 'public-read', ...extra };
}

const isGone = (error: unknown) => isStoreError(error, 'gone');
/** A StoreError that retrying will not change (what check() promises for a missing bucket). */
const isFatal = (error: unknown) => isStoreError(error, 'fatal');

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
function byUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const largeData = new Map<number, Buffer>();
function largeOf(size: number): Buffer {
  let data = largeData.get(size);
  if (!data) {
    data = randomBytes(size);
    largeData.set(size, data);
  }
  return data;
}

/** Runs fn over at most `limit` items at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// the suite

export function describeObjectStore(name: string, setup: ConformanceSetup): void {
  const prefix = setup.keyPrefix ?? '';
  const fullKey = (key: string) => (prefix ? `${prefix}/${key}` : key);
  const order = setup.listOrder === 'utf16' ? byUtf16 : byUtf8;
  const timeout = setup.timeoutMs ?? 30_000;
  const large = setup.multipart
    ? Math.max(setup.multipart.threshold + 1, 2 * setup.multipart.partSize + 123_457)
    : 3 * 1024 * 1024 + 123_457;
  /** Where a large write is cut: in the middle of its second part. */
  const cut = setup.multipart ? Math.floor(setup.multipart.partSize * 1.5) : Math.floor(large / 2);

  describe(name, () => {
    if (setup.before) before(() => setup.before!());
    if (setup.after) after(() => setup.after!());

    const it = (id: CaseId, title: string, fn: (h: StoreHandle, t: TestContext) => Promise<void>) => {
      // CONFORMANCE_RUN_GAPS=1 runs the known gaps too, to see whether one was closed.
      const gap = process.env['CONFORMANCE_RUN_GAPS'] ? undefined : setup.gaps?.[id];
      test(`${id}: ${title}`, { timeout, ...(gap ? { skip: `known gap: ${gap}` } : {}) }, async (t) => {
        const handle = await setup.fresh();
        try {
          await fn(handle, t);
        } finally {
          await handle.store.close();
          await handle.dispose?.();
        }
      });
    };

    /** Every key list() gives under a prefix, page after page (startAfter = the last key). */
    const listKeys = async (store: ObjectStore, listPrefix: string, startAfter?: string) => {
      const keys: string[] = [];
      for (let after = startAfter; ; ) {
        const page = await store.list(listPrefix, after);
        keys.push(...page.items.map((i) => i.key));
        if (!page.truncated) return keys;
        assert.ok(page.items.length > 0, 'a truncated page holds keys');
        after = page.items.at(-1)!.key;
      }
    };

    /** head and read (info and bytes) agree with `data`, and with each other. */
    const assertHolds = async (
      store: ObjectStore,
      key: string,
      data: Buffer,
      extra?: Partial<WriteOptions>,
    ) => {
      const head = await store.head(key);
      assert.ok(head, `head ${key}`);
      assert.equal(head.key, key);
      assert.equal(head.size, data.length, `size of ${key}`);
      if (
        store.features.md5Etags &&
        head.etag !== undefined &&
        data.length <= (setup.multipart?.threshold ?? Infinity)
      ) {
        assert.equal(head.etag, md5Hex(data), `etag of ${key}`);
      }
      if (store.metadataOf) {
        assert.equal(head.contentType, extra?.contentType ?? 'image/png', `Content-Type of ${key}`);
        assert.equal(
          head.cacheControl,
          extra?.cacheControl ?? 'public, max-age=60',
          `Cache-Control of ${key}`,
        );
      } else {
        // Stores without metadata (the filesystem) report none: the catalog's type applies.
        assert.equal(head.contentType, undefined);
        assert.equal(head.cacheControl, undefined);
      }
      const { info, body } = await store.read(key);
      const bytes = await readAll(body);
      assert.deepEqual(info, head, `read's info of ${key} is head's`);
      assert.equal(bytes.length, data.length, `bytes read of ${key}`);
      assert.ok(bytes.equals(data), `the bytes of ${key}`);
    };

    /**
     * A write that must fail: tried over an existing object (which must stay as it was) and on
     * a fresh key (which must stay absent); afterwards the backend holds only the existing one.
     */
    const assertRefused = async (
      h: StoreHandle,
      attempt: (key: string) => Promise<unknown>,
      check?: (error: unknown) => void,
    ) => {
      const existing = 'media_attachments/files/000/000/001/original/existing.png';
      const fresh = 'media_attachments/files/000/000/002/original/fresh.png';
      await h.store.write(existing, bodyOf(PREVIOUS), writeOptions(PREVIOUS.length));
      for (const key of [existing, fresh]) {
        await assert.rejects(attempt(key), (error) => {
          assert.ok(error instanceof StoreError, `a StoreError for ${key}, not ${String(error)}`);
          check?.(error);
          return true;
        });
      }
      assert.equal(await h.store.head(fresh), null, 'nothing visible under the fresh key');
      await assertHolds(h.store, existing, PREVIOUS);
      assert.deepEqual(await listKeys(h.store, 'media_attachments/'), [existing], 'listed');
      assert.deepEqual(await h.rawKeys(), [fullKey(existing)], 'nothing else in the backend');
    };

    // -------------------------------------------------------------------------------------------
    // reading what is not there; round trips

    it('absent', 'head is null, read is StoreError gone, list is empty', async ({ store }) => {
      const key = 'media_attachments/files/000/000/404/original/absent.png';
      assert.equal(await store.head(key), null);
      await assert.rejects(store.read(key), isGone);
      assert.deepEqual(await store.list('media_attachments/', undefined), { items: [], truncated: false });
      assert.deepEqual(await store.list('', undefined), { items: [], truncated: false });
      if (store.metadataOf) {
        assert.equal(await store.metadataOf(key, false), null);
        if (setup.acl) assert.equal(await store.metadataOf(key, true), null);
      }
    });

    it('round-trip', 'write, then head and read give back size, bytes and metadata', async ({ store }) => {
      const key = 'media_attachments/files/000/000/001/original/photo.png';
      const written = await store.write(key, bodyOf(DATA, 8_192), writeOptions(DATA.length));
      if (store.features.md5Etags && written.etag !== undefined) assert.equal(written.etag, md5Hex(DATA));
      await assertHolds(store, key, DATA);
    });

    it('buffer-body', 'a body given as one buffer round-trips, with its MD5 checked', async ({ store }) => {
      const key = 'media_attachments/files/000/000/001/small/photo.png';
      const written = await store.write(key, DATA, { ...writeOptions(DATA.length), md5: md5Hex(DATA) });
      if (store.features.md5Etags && written.etag !== undefined) assert.equal(written.etag, md5Hex(DATA));
      await assertHolds(store, key, DATA);
    });

    it('empty-object', 'a 0-byte object round-trips', async ({ store }) => {
      const key = 'media_attachments/files/000/000/001/small/empty.png';
      await store.write(key, bodyOf(Buffer.alloc(0)), writeOptions(0));
      await assertHolds(store, key, Buffer.alloc(0));
      assert.deepEqual(
        (await store.list('media_attachments/', undefined)).items.map((i) => [i.key, i.size]),
        [[key, 0]],
      );
    });

    it('overwrite', 'a second write replaces the object whole', async ({ store }) => {
      const key = 'accounts/avatars/000/000/001/original/me.png';
      await store.write(key, bodyOf(DATA), writeOptions(DATA.length));
      const next = Buffer.from('a much shorter replacement');
      await store.write(
        key,
        bodyOf(next),
        writeOptions(next.length, { contentType: 'image/webp', cacheControl: 'no-cache' }),
      );
      await assertHolds(store, key, next, { contentType: 'image/webp', cacheControl: 'no-cache' });
      assert.deepEqual(
        (await store.list('accounts/', undefined)).items.map((i) => [i.key, i.size]),
        [[key, next.length]],
      );
    });

    const UNUSUAL = [
      'u/ñandú_日本語.png',
      'u/emoji_😀.png',
      'u/with space.png',
      'u/plus+sign.png',
      'u/site@2x.png',
      'u/colon:time.png',
      "u/sub-delims!$&'()*,;=.png",
      'u/percent%20and%25.png',
      'u/tilde~under_score-dash.png',
      'u/UPPER.PNG',
    ];
    it('unusual-keys', 'keys with non-ASCII and URL-significant characters round-trip', async ({ store }) => {
      for (const [i, key] of UNUSUAL.entries()) {
        const data = pattern(100 + i, i + 3);
        await store.write(key, bodyOf(data), writeOptions(data.length));
      }
      for (const [i, key] of UNUSUAL.entries()) await assertHolds(store, key, pattern(100 + i, i + 3));
      assert.deepEqual(await listKeys(store, 'u/'), [...UNUSUAL].sort(order));
    });

    it('key-below-key', 'a key can also be the prefix of other keys (k/x and k/x/y)', async ({ store }) => {
      const a = Buffer.from('object a');
      const b = Buffer.from('object below a');
      await store.write('k/x', bodyOf(a), writeOptions(a.length));
      await store.write('k/x/y', bodyOf(b), writeOptions(b.length));
      await assertHolds(store, 'k/x', a);
      await assertHolds(store, 'k/x/y', b);
    });

    it('key-below-key-order', 'k/x lists before k/x/y', async ({ store }) => {
      await store.write('k/x/y', bodyOf(Buffer.from('y')), writeOptions(1));
      await store.write('k/x', bodyOf(Buffer.from('x')), writeOptions(1));
      assert.deepEqual(await listKeys(store, 'k/'), ['k/x', 'k/x/y']);
    });

    it('md5-accepted', 'a write with the right MD5 succeeds', async ({ store }) => {
      const key = 'media_attachments/files/000/000/003/original/md5.png';
      await store.write(key, bodyOf(DATA), writeOptions(DATA.length, { md5: md5Hex(DATA) }));
      await assertHolds(store, key, DATA);
    });

    it('md5-mismatch', 'a body whose MD5 is not the declared one is refused; nothing visible', async (h) => {
      const wrong = md5Hex(Buffer.from('something else'));
      await assertRefused(h, (key) =>
        h.store.write(key, bodyOf(DATA), writeOptions(DATA.length, { md5: wrong })),
      );
    });

    it(
      'backend-keys',
      'the backend holds exactly the written keys (key prefix applied), nothing else',
      async (h) => {
        const keys = [
          'media_attachments/files/000/000/001/original/a.png',
          'media_attachments/files/000/000/001/small/a.png',
          'custom_emojis/images/000/000/005/original/blob.png',
        ];
        for (const key of keys) await h.store.write(key, bodyOf(DATA), writeOptions(DATA.length));
        assert.deepEqual((await h.rawKeys()).sort(), keys.map(fullKey).sort());
      },
    );

    if (prefix) {
      it(
        'key-prefix-hidden',
        'objects outside the key prefix are invisible; listed keys omit it',
        async (h) => {
          const key = 'media_attachments/files/000/000/001/original/a.png';
          const outside = [key, `other/${key}`, `${prefix}x/${key}`];
          for (const raw of outside) await h.putRaw(raw, Buffer.from('outside'));
          assert.equal(await h.store.head(key), null);
          await assert.rejects(h.store.read(key), isGone);
          assert.deepEqual(await listKeys(h.store, ''), []);
          await h.store.write(key, bodyOf(DATA), writeOptions(DATA.length));
          await assertHolds(h.store, key, DATA);
          assert.deepEqual(await listKeys(h.store, ''), [key]);
          assert.deepEqual(await listKeys(h.store, 'media_attachments/'), [key]);
          assert.deepEqual((await h.rawKeys()).sort(), [...outside, fullKey(key)].sort());
        },
      );
    }

    // -------------------------------------------------------------------------------------------
    // listing

    const ORDERED = ['o/b', 'o/B', 'o/a', 'o/é', 'o/ｚ', 'o/😀', 'o/~', 'o/-', 'o/0', 'o/_'];
    it(
      'list-order',
      `keys list in ${setup.listOrder === 'utf16' ? 'UTF-16 code-unit' : 'UTF-8 byte'} order`,
      async ({ store }) => {
        for (const [i, key] of ORDERED.entries()) {
          await store.write(key, bodyOf(Buffer.alloc(i + 1, i)), writeOptions(i + 1));
        }
        for (const key of ['n/x', 'o0/x', 'oa'])
          await store.write(key, bodyOf(Buffer.from('x')), writeOptions(1));
        const items: Array<{ key: string; size: number }> = [];
        for (let after: string | undefined; ; ) {
          const page = await store.list('o/', after);
          items.push(...page.items);
          if (!page.truncated) break;
          after = page.items.at(-1)!.key;
        }
        const expected = [...ORDERED].sort(order);
        assert.deepEqual(
          items.map((i) => i.key),
          expected,
        );
        for (const item of items) assert.equal(item.size, ORDERED.indexOf(item.key) + 1, item.key);
      },
    );

    it(
      'list-order-start-after',
      `startAfter follows the listing's own ${setup.listOrder === 'utf16' ? 'UTF-16' : 'UTF-8'} order past U+FFFF`,
      async ({ store }) => {
        for (const key of ['o/~', 'o/é', 'o/ｚ', 'o/😀']) {
          await store.write(key, bodyOf(Buffer.from(key)), writeOptions(Buffer.byteLength(key)));
        }
        // U+FF5A sorts before U+1F600 in UTF-8 and after it in UTF-16: startAfter must agree with
        // the listing's order, or paging skips or repeats keys.
        if (setup.listOrder === 'utf16') {
          // Documented current behaviour (FsStore sorts and compares with `<`): harmless while
          // the filesystem store returns one page and lookup never lists it (features.listing
          // is false).
          assert.deepEqual(await listKeys(store, 'o/'), ['o/~', 'o/é', 'o/😀', 'o/ｚ']);
          assert.deepEqual(await listKeys(store, 'o/', 'o/😀'), ['o/ｚ']);
          assert.deepEqual(await listKeys(store, 'o/', 'o/ｚ'), []);
        } else {
          assert.deepEqual(await listKeys(store, 'o/'), ['o/~', 'o/é', 'o/ｚ', 'o/😀']);
          assert.deepEqual(await listKeys(store, 'o/', 'o/ｚ'), ['o/😀']);
          assert.deepEqual(await listKeys(store, 'o/', 'o/😀'), []);
        }
        assert.deepEqual(await listKeys(store, 'o/', 'o/é'), ['o/ｚ', 'o/😀'].sort(order));
      },
    );

    it(
      'key-prefix-order',
      'a key lists before the longer keys it is a prefix of (k/x, k/x-, k/x0)',
      async ({ store }) => {
        for (const key of ['k/x0', 'k/x-', 'k/x'])
          await store.write(key, bodyOf(Buffer.from(key)), writeOptions(key.length));
        assert.deepEqual(await listKeys(store, 'k/'), ['k/x', 'k/x-', 'k/x0']);
      },
    );

    it(
      'list-start-after',
      'startAfter is exclusive, need not exist, and may lie outside the prefix',
      async ({ store }) => {
        const keys = ['s/a', 's/b', 's/c', 's/d'];
        for (const key of keys) await store.write(key, bodyOf(Buffer.from(key)), writeOptions(key.length));
        const CASES: Array<[string | undefined, string[]]> = [
          [undefined, keys],
          ['s/a', ['s/b', 's/c', 's/d']],
          ['s/b', ['s/c', 's/d']],
          ['s/b0', ['s/c', 's/d']], // between two keys
          ['s/', keys],
          ['r', keys], // before the prefix
          ['s/d', []], // the last key
          ['t', []], // beyond the prefix
        ];
        for (const [startAfter, expected] of CASES) {
          assert.deepEqual(await listKeys(store, 's/', startAfter), expected, `startAfter ${startAfter}`);
        }
      },
    );

    const TREE = ['m/a/1', 'm/a/2', 'm/ab/1', 'm/b/1', 'ma/1', 'n/1'];
    it('list-prefix', 'list returns exactly the keys under a directory prefix', async ({ store }) => {
      for (const key of TREE) await store.write(key, bodyOf(Buffer.from(key)), writeOptions(key.length));
      assert.deepEqual(await listKeys(store, 'm/a/'), ['m/a/1', 'm/a/2']);
      assert.deepEqual(await listKeys(store, 'm/'), ['m/a/1', 'm/a/2', 'm/ab/1', 'm/b/1']);
      assert.deepEqual(await listKeys(store, ''), TREE);
      assert.deepEqual(await listKeys(store, 'z/'), []);
      assert.deepEqual(await listKeys(store, 'm/a/', 'm/a/1'), ['m/a/2']);
    });

    it(
      'list-partial-prefix',
      'a prefix that ends inside a name matches as a string prefix',
      async ({ store }) => {
        for (const key of TREE) await store.write(key, bodyOf(Buffer.from(key)), writeOptions(key.length));
        assert.deepEqual(await listKeys(store, 'm/a'), ['m/a/1', 'm/a/2', 'm/ab/1']);
        assert.deepEqual(await listKeys(store, 'm'), ['m/a/1', 'm/a/2', 'm/ab/1', 'm/b/1', 'ma/1']);
      },
    );

    it(
      'list-paging',
      `listing page by page (startAfter = last key) yields every key once, in order${setup.pageSize ? `, ${setup.pageSize} a page` : ''}`,
      async (h) => {
        const count = setup.pageSize ? setup.pageSize + 2 : 25;
        const keys = Array.from({ length: count }, (_, i) => `g/${String(i).padStart(5, '0')}.png`);
        await eachLimited(keys, 16, (key) => h.putRaw(fullKey(key), Buffer.from('g')));
        const pages: Array<{ keys: string[]; truncated: boolean }> = [];
        let startAfter: string | undefined;
        for (;;) {
          const page = await h.store.list('g/', startAfter);
          pages.push({ keys: page.items.map((i) => i.key), truncated: page.truncated });
          assert.ok(pages.length <= count, 'listing ends');
          if (!page.truncated) break;
          assert.ok(page.items.length > 0, 'a truncated page holds keys');
          startAfter = page.items.at(-1)!.key;
        }
        assert.deepEqual(
          pages.flatMap((p) => p.keys),
          keys,
        );
        assert.equal(pages.at(-1)!.truncated, false);
        if (setup.pageSize) {
          assert.deepEqual(
            pages.map((p) => p.keys.length),
            [setup.pageSize, 2],
          );
        }
      },
    );

    it(
      'list-max-keys',
      'a page holds at most the keys asked for, truncated when more follow, and goes on after them',
      async (h) => {
        const keys = Array.from({ length: 7 }, (_, i) => `g/${i}.png`);
        await eachLimited(keys, 7, (key) => h.putRaw(fullKey(key), Buffer.from('g')));
        const first = await h.store.list('g/', undefined, undefined, 3);
        assert.deepEqual(
          first.items.map((i) => i.key),
          keys.slice(0, 3),
        );
        assert.equal(first.truncated, true);
        const rest = await h.store.list('g/', 'g/2.png', undefined, 10);
        assert.deepEqual(
          rest.items.map((i) => i.key),
          keys.slice(3),
        );
        assert.equal(rest.truncated, false);
      },
    );

    // -------------------------------------------------------------------------------------------
    // writes that must fail, leaving nothing visible

    it('short-body', 'a body that ends before `size` is refused; nothing partial is visible', async (h) => {
      await assertRefused(h, (key) =>
        h.store.write(key, bodyOf(DATA.subarray(0, 30_000)), writeOptions(DATA.length)),
      );
    });

    it(
      'buffer-md5-mismatch',
      'a buffer whose MD5 is not the declared one is refused; nothing visible',
      async (h) => {
        await assertRefused(h, (key) =>
          h.store.write(key, DATA, { ...writeOptions(DATA.length), md5: md5Hex(Buffer.from('other')) }),
        );
      },
    );

    it('long-body', 'a body that runs past `size` is refused; nothing truncated is visible', async (h) => {
      await assertRefused(h, (key) => h.store.write(key, bodyOf(DATA), writeOptions(DATA.length - 1_000)));
    });

    it(
      'failing-body',
      'a body that errors midway fails the write with a StoreError; nothing visible',
      async (h) => {
        await assertRefused(h, (key) =>
          h.store.write(
            key,
            interruptedBody(DATA, 30_000, () => {
              throw new Error('read ECONNRESET');
            }),
            writeOptions(DATA.length),
          ),
        );
      },
    );

    it(
      'store-error-body',
      "a body's own StoreError (CountingStream's ShortBodyError) keeps its kind",
      async (h) => {
        await assertRefused(
          h,
          (key) =>
            h.store.write(
              key,
              interruptedBody(DATA, 30_000, () => {
                throw new ShortBodyError(DATA.length, 30_000);
              }),
              writeOptions(DATA.length),
            ),
          (error) => assert.equal((error as StoreError).kind, 'retryable'),
        );
      },
    );

    it('aborted-write', 'a write whose signal aborts midway fails; nothing visible', async (h) => {
      await assertRefused(h, (key) => {
        const controller = new AbortController();
        const body = interruptedBody(DATA, 30_000, async () => {
          controller.abort();
          await new Promise((resolve) => setTimeout(resolve, 10));
        });
        return h.store.write(key, body, writeOptions(DATA.length, { signal: controller.signal }));
      });
    });

    it('pre-aborted-write', 'a write whose signal is already aborted fails; nothing visible', async (h) => {
      await assertRefused(h, (key) =>
        h.store.write(key, bodyOf(DATA), writeOptions(DATA.length, { signal: AbortSignal.abort() })),
      );
    });

    // -------------------------------------------------------------------------------------------
    // large objects (the multipart path where the store has one)

    const largeTitle = setup.multipart
      ? `(${large} bytes, multipart above ${setup.multipart.threshold} in parts of ${setup.multipart.partSize})`
      : `(${large} bytes)`;

    it('large-write', `a large object round-trips ${largeTitle}`, async ({ store }) => {
      const data = largeOf(large);
      const key = 'media_attachments/files/000/000/009/original/video.mp4';
      await store.write(key, bodyOf(data), writeOptions(data.length, { contentType: 'video/mp4' }));
      const head = await store.head(key);
      assert.ok(head);
      assert.equal(head.size, data.length);
      if (store.metadataOf) assert.equal(head.contentType, 'video/mp4');
      const { info, body } = await store.read(key);
      assert.deepEqual(info, head);
      assert.equal(md5Hex(await readAll(body)), md5Hex(data), 'the bytes');
      if (store.metadataOf && setup.acl) {
        assert.equal((await store.metadataOf(key, true))?.access, 'public-read', 'the ACL of a large write');
      }
    });

    it(
      'large-short-body',
      `a large body that ends short is refused; nothing visible ${largeTitle}`,
      async (h) => {
        const data = largeOf(large);
        await assertRefused(h, (key) =>
          h.store.write(key, bodyOf(data.subarray(0, cut)), writeOptions(data.length)),
        );
      },
    );

    it(
      'large-long-body',
      `a large body that runs past \`size\` is refused; nothing visible ${largeTitle}`,
      async (h) => {
        const data = largeOf(large);
        await assertRefused(h, (key) => h.store.write(key, bodyOf(data), writeOptions(data.length - 1_000)));
      },
    );

    it(
      'large-failing-body',
      `a large body that errors midway fails; nothing visible ${largeTitle}`,
      async (h) => {
        const data = largeOf(large);
        await assertRefused(h, (key) =>
          h.store.write(
            key,
            interruptedBody(data, cut, () => {
              throw new Error('read ECONNRESET');
            }),
            writeOptions(data.length),
          ),
        );
      },
    );

    it(
      'large-aborted-write',
      `a large write aborted midway fails; nothing visible ${largeTitle}`,
      async (h) => {
        const data = largeOf(large);
        await assertRefused(h, (key) => {
          const controller = new AbortController();
          const body = interruptedBody(data, cut, async () => {
            controller.abort();
            await new Promise((resolve) => setTimeout(resolve, 10));
          });
          return h.store.write(key, body, writeOptions(data.length, { signal: controller.signal }));
        });
      },
    );

    // -------------------------------------------------------------------------------------------
    // server-side copies

    it(
      'copy-foreign',
      'copyFrom a store of another kind or account resolves false and writes nothing',
      async (h, t) => {
        const { store } = h;
        if (!store.copyFrom) return void t.skip(`${store.description} has no copyFrom`);
        const key = 'media_attachments/files/000/000/001/original/a.png';
        const dir = mkdtempSync(join(tmpdir(), 'msst-conformance-foreign-'));
        const sources: ObjectStore[] = [
          new FsStore(dir),
          new MemoryStore({ description: 'memory (its own account)' }),
        ];
        try {
          for (const source of sources) {
            await source.write(key, bodyOf(DATA), writeOptions(DATA.length));
            const copied = await store.copyFrom(source, key, 'copied/a.png', writeOptions(DATA.length));
            assert.equal(copied, false, `from ${source.description}`);
          }
          assert.equal(await store.head('copied/a.png'), null);
          assert.deepEqual(await h.rawKeys(), []);
        } finally {
          for (const source of sources) await source.close();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );

    it(
      'copy',
      'copyFrom a store on the same account copies the bytes and replaces the metadata',
      async (h, t) => {
        const { store } = h;
        if (!store.copyFrom) return void t.skip(`${store.description} has no copyFrom`);
        if (!h.sibling) return void t.skip('this set-up has no second store on the same account');
        const sibling = await h.sibling();
        try {
          const key = 'media_attachments/files/000/000/001/original/a.png';
          await sibling.store.write(key, bodyOf(DATA), writeOptions(DATA.length, { acl: 'private' }));
          const meta = {
            contentType: 'image/webp',
            cacheControl: 'public, max-age=31536000',
            acl: 'public-read',
          };
          assert.equal(
            await store.copyFrom(sibling.store, key, 'copied/a.png', writeOptions(DATA.length, meta)),
            true,
          );
          await assertHolds(store, 'copied/a.png', DATA, meta);
          if (store.metadataOf && setup.acl) {
            assert.equal((await store.metadataOf('copied/a.png', true))?.access, 'public-read');
          }
          // Within one store too (the source is the destination).
          assert.equal(
            await store.copyFrom(store, 'copied/a.png', 'copied/b.png', writeOptions(DATA.length)),
            true,
          );
          await assertHolds(store, 'copied/b.png', DATA);
          await assertHolds(sibling.store, key, DATA); // the source is untouched
        } finally {
          await sibling.store.close();
          await sibling.dispose?.();
        }
      },
    );

    it(
      'copy-missing',
      'copyFrom a key the source lacks is StoreError gone; nothing written',
      async (h, t) => {
        const { store } = h;
        if (!store.copyFrom) return void t.skip(`${store.description} has no copyFrom`);
        if (!h.sibling) return void t.skip('this set-up has no second store on the same account');
        const sibling = await h.sibling();
        try {
          await assert.rejects(
            store.copyFrom(sibling.store, 'absent/a.png', 'copied/a.png', writeOptions(1)),
            isGone,
          );
          assert.equal(await store.head('copied/a.png'), null);
        } finally {
          await sibling.store.close();
          await sibling.dispose?.();
        }
      },
    );

    // -------------------------------------------------------------------------------------------
    // metadata and ACLs in place

    it(
      'metadata',
      'metadataOf tells size, Content-Type and Cache-Control; null when absent',
      async ({ store }, t) => {
        if (!store.metadataOf) return void t.skip(`${store.description} keeps no metadata`);
        const key = 'media_attachments/files/000/000/001/original/a.png';
        await store.write(key, bodyOf(DATA), writeOptions(DATA.length, { cacheControl: 'max-age=5' }));
        assert.deepEqual(await store.metadataOf(key, false), {
          size: DATA.length,
          contentType: 'image/png',
          cacheControl: 'max-age=5',
        });
        assert.equal(await store.metadataOf('absent/a.png', false), null);
      },
    );

    it(
      'acl',
      'the ACL a write sets, and setAcl changes, is what metadataOf reports',
      async ({ store }, t) => {
        if (!store.metadataOf || !store.setAcl) return void t.skip(`${store.description} has no ACLs`);
        if (!setup.acl) return void t.skip('this set-up cannot tell ACLs');
        const WRITES: Array<[string, string | null, string]> = [
          ['acl/public.png', 'public-read', 'public-read'],
          ['acl/none.png', null, 'private'],
          ['acl/private.png', 'private', 'private'],
          ['acl/authenticated.png', 'authenticated-read', 'authenticated-read'],
        ];
        for (const [key, acl, access] of WRITES) {
          await store.write(key, bodyOf(DATA), writeOptions(DATA.length, { acl }));
          assert.equal((await store.metadataOf(key, true))?.access, access, `${key} written with ${acl}`);
        }
        await store.setAcl('acl/public.png', 'private');
        await store.setAcl('acl/none.png', 'public-read');
        assert.equal((await store.metadataOf('acl/public.png', true))?.access, 'private');
        assert.deepEqual(await store.metadataOf('acl/none.png', true), {
          size: DATA.length,
          contentType: 'image/png',
          cacheControl: 'public, max-age=60',
          access: 'public-read',
        });
        await assertHolds(store, 'acl/public.png', DATA); // body and metadata untouched
        await assert.rejects(store.setAcl('acl/absent.png', 'public-read'), isGone);
      },
    );

    it(
      'replace-metadata',
      'replaceMetadata rewrites type, caching and ACL in place; the body stays',
      async ({ store }, t) => {
        if (!store.replaceMetadata || !store.metadataOf)
          return void t.skip(`${store.description} keeps no metadata`);
        const key = 'media_attachments/files/000/000/001/original/a.png';
        await store.write(key, bodyOf(DATA), writeOptions(DATA.length));
        const before = await store.head(key);
        const replaced = { contentType: 'image/webp', cacheControl: 'no-store' };
        await store.replaceMetadata(key, { ...replaced, acl: 'private' });
        await assertHolds(store, key, DATA, replaced);
        assert.equal((await store.head(key))?.etag, before?.etag, 'same ETag: same body');
        if (setup.acl) {
          assert.equal((await store.metadataOf(key, true))?.access, 'private');
          await store.replaceMetadata(key, { ...replaced, acl: 'public-read' });
          assert.equal((await store.metadataOf(key, true))?.access, 'public-read');
          // No ACL header: the object gets the bucket's default, private (as S3's CopyObject).
          await store.replaceMetadata(key, { ...replaced, acl: null });
          assert.equal((await store.metadataOf(key, true))?.access, 'private');
        }
        await assert.rejects(store.replaceMetadata('absent/a.png', { ...replaced, acl: null }), isGone);
      },
    );

    // -------------------------------------------------------------------------------------------
    // check

    it(
      'check',
      'check passes for reading and writing on an existing bucket or directory',
      async ({ store }) => {
        await store.check({ write: false });
        await store.check({ write: true });
      },
    );

    it(
      'check-missing',
      setup.checkCreatesMissing
        ? 'check fails fast (StoreError fatal) for reading a missing directory, and creates it for writing'
        : 'check fails fast (StoreError fatal) on a missing bucket, for reading and writing',
      async () => {
        const store = await setup.missing();
        try {
          const started = Date.now();
          await assert.rejects(store.check({ write: false }), isFatal);
          if (setup.checkCreatesMissing) {
            // Documented behaviour of the filesystem store: a destination directory is created.
            await store.check({ write: true });
            await store.check({ write: false });
          } else {
            await assert.rejects(store.check({ write: true }), isFatal);
          }
          assert.ok(Date.now() - started < 5_000, 'fast');
        } finally {
          await store.close();
        }
      },
    );

    if (setup.refused) {
      it(
        'check-refused',
        'check fails fast (StoreError fatal) when the credentials are refused',
        async () => {
          const store = await setup.refused!();
          try {
            await assert.rejects(store.check({ write: false }), isFatal);
            await assert.rejects(store.check({ write: true }), isFatal);
          } finally {
            await store.close();
          }
        },
      );
    }

    setup.more?.();
  });
}
