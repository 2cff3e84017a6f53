/**
 * lookupKeys against an in-memory store that lists like S3 (UTF-8 byte order, StartAfter
 * exclusive, at most `pageSize` keys a page, `truncated` when more follow). Asserts what was
 * found (exactly) and what it cost (requests, never a repeated identical list).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { idPartition } from '../../src/mastodon/catalog.ts';
import { attachmentPrefix } from '../../src/mastodon/paperclip.ts';
import type { ListPage, ObjectInfo, ObjectStore, StoreFeatures } from '../../src/storage/types.ts';
import { type LookupContext, lookupKeys, pageSizeFor } from '../../src/transfer/lookup.ts';

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A lone UTF-16 surrogate cannot be sent in a URL (encodeURIComponent throws) nor stored by S3. */
function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

interface ListCall {
  prefix: string;
  startAfter: string | undefined;
  maxKeys: number;
  returned: number;
}

class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  readonly features: StoreFeatures;
  readonly listCalls: ListCall[] = [];
  readonly headCalls: string[] = [];
  private readonly sorted: Array<{ info: ObjectInfo; bytes: Buffer }>;
  private readonly objects = new Map<string, ObjectInfo>();

  constructor(
    objects: Iterable<ObjectInfo>,
    options: { listing?: boolean; pageSize?: number } = {},
    /** Fails the first `failures` list calls (to see that ctx.retry wraps them). */
    private failures = 0,
  ) {
    this.features = { listing: options.listing ?? true, md5Etags: true };
    this.pageSize = options.pageSize ?? 1000;
    for (const o of objects) this.objects.set(o.key, o);
    this.sorted = [...this.objects.values()]
      .map((info) => ({ info, bytes: Buffer.from(info.key, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  }

  private readonly pageSize: number;

  async check(): Promise<void> {}

  async head(key: string): Promise<ObjectInfo | null> {
    this.headCalls.push(key);
    return this.objects.get(key) ?? null;
  }

  async read(): Promise<{ info: ObjectInfo; body: Readable }> {
    throw new Error('lookup must not read');
  }

  async write(): Promise<{ etag?: string }> {
    throw new Error('lookup must not write');
  }

  async list(
    prefix: string,
    startAfter: string | undefined,
    _signal?: AbortSignal,
    maxKeys = 1000,
  ): Promise<ListPage> {
    const pageSize = Math.min(this.pageSize, maxKeys);
    if (this.failures > 0) {
      this.failures--;
      throw new Error('transient');
    }
    // Keys under a prefix are contiguous in byte order: start at the later of the prefix and
    // the first key after StartAfter, and stop at the first key outside the prefix.
    let at = this.firstAtOrAfter(Buffer.from(prefix, 'utf8'), false);
    if (startAfter !== undefined)
      at = Math.max(at, this.firstAtOrAfter(Buffer.from(startAfter, 'utf8'), true));
    const items: ObjectInfo[] = [];
    let truncated = false;
    for (; at < this.sorted.length && this.sorted[at]!.info.key.startsWith(prefix); at++) {
      if (items.length === pageSize) {
        truncated = true;
        break;
      }
      items.push(this.sorted[at]!.info);
    }
    this.listCalls.push({ prefix, startAfter, maxKeys, returned: items.length });
    return { items, truncated };
  }

  /** Index of the first key ≥ bound (or > bound when `strictly`). */
  private firstAtOrAfter(bound: Buffer, strictly: boolean): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const c = Buffer.compare(this.sorted[mid]!.bytes, bound);
      if (c < 0 || (strictly && c === 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  async close(): Promise<void> {}
}

function context(): LookupContext & { requests: { list: number; head: number }; retried: number } {
  const ctx = {
    requests: { list: 0, head: 0 },
    retried: 0,
    // As every run passes it: one listing group per Mastodon attachment prefix.
    groupOf: attachmentPrefix,
    onRequest(kind: 'list' | 'head') {
      ctx.requests[kind]++;
    },
    async retry<T>(fn: () => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (error) {
          if (attempt >= 3) throw error;
          ctx.retried++;
        }
      }
    },
  };
  return ctx;
}

let etagCounter = 0;
function object(key: string, size?: number): ObjectInfo {
  etagCounter++;
  return { key, size: size ?? (etagCounter * 7) % 100_000, etag: etagCounter.toString(16).padStart(32, '0') };
}

function mediaKey(
  id: number | string,
  style = 'original',
  name = 'f.png',
  table = 'media_attachments/files',
) {
  return `${table}/${idPartition(String(id))}/${style}/${name}`;
}

/** The map lookupKeys should return: exactly the store's objects among `keys`. */
function expectedFound(store: Map<string, ObjectInfo>, keys: readonly string[]): Map<string, ObjectInfo> {
  const found = new Map<string, ObjectInfo>();
  for (const key of keys) {
    const o = store.get(key);
    if (o) found.set(key, o);
  }
  return found;
}

function sortedEntries(map: Map<string, ObjectInfo>): Array<[string, ObjectInfo]> {
  return [...map.entries()].sort(([a], [b]) => byUtf8(a, b));
}

/** Checks the found map for `keys` only: every present key with its info, no absent key. */
function assertFoundOurs(found: Map<string, ObjectInfo>, expected: Map<string, ObjectInfo>, keys: string[]) {
  for (const key of keys) assert.deepEqual(found.get(key), expected.get(key), key);
}

/** Every list call made progress: no identical call twice, and StartAfter rises within a prefix. */
function assertProgress(calls: readonly ListCall[]) {
  const seen = new Set<string>();
  const lastByPrefix = new Map<string, string | undefined>();
  for (const call of calls) {
    const id = JSON.stringify([call.prefix, call.startAfter]);
    assert.ok(!seen.has(id), `list call repeated: ${id}`);
    seen.add(id);
    if (lastByPrefix.has(call.prefix)) {
      const last = lastByPrefix.get(call.prefix);
      assert.ok(
        call.startAfter !== undefined && (last === undefined || byUtf8(call.startAfter, last) > 0),
        `StartAfter moved forward under ${call.prefix}: ${last} → ${call.startAfter}`,
      );
    }
    lastByPrefix.set(call.prefix, call.startAfter);
  }
}

const GROUPED_TABLES = [
  'media_attachments/files',
  'cache/media_attachments/files',
  'media_attachments/thumbnails',
  'accounts/avatars',
  'cache/accounts/avatars',
  'accounts/headers',
  'custom_emojis/images',
  'preview_cards/images',
  'site_uploads/files',
];

describe('attachmentPrefix', () => {
  const TABLE: Array<[key: string, prefix: string]> = [
    ['media_attachments/files/000/000/001/original/a.png', 'media_attachments/files/'],
    ['cache/media_attachments/files/108/361/296/738/754/794/small/a.png', 'cache/media_attachments/files/'],
    ['accounts/avatars/000/000/001/original/a.png', 'accounts/avatars/'],
    ['cache/accounts/headers/000/000/001/static/a.png', 'cache/accounts/headers/'],
    ['site_uploads/files/000/000/003/192/x.png', 'site_uploads/files/'],
    ['imports/data/000/000/001/original/x.csv', 'imports/data/'],
  ];
  for (const [key, prefix] of TABLE) {
    test(`${key} → ${prefix}`, () => {
      assert.equal(attachmentPrefix(key), prefix);
      assert.ok(key.startsWith(attachmentPrefix(key)));
    });
  }
});

describe('lookupKeys on a listing store', () => {
  test('no keys: no requests', async () => {
    const store = new MemoryStore([]);
    const ctx = context();
    const found = await lookupKeys(store, [], ctx);
    assert.equal(found.size, 0);
    assert.deepEqual(ctx.requests, { list: 0, head: 0 });
  });

  test('first run into an empty store: one list per attachment prefix group', async () => {
    const keys: string[] = [];
    for (const table of GROUPED_TABLES)
      for (let id = 1; id <= 300; id++) keys.push(mediaKey(id, 'original', 'a.png', table));
    const store = new MemoryStore([]);
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.equal(found.size, 0);
    assert.equal(store.listCalls.length, GROUPED_TABLES.length);
    assert.deepEqual(store.listCalls.map((c) => c.prefix).sort(), GROUPED_TABLES.map((t) => `${t}/`).sort());
    assert.deepEqual(ctx.requests, { list: GROUPED_TABLES.length, head: 0 });
    assert.equal(store.headCalls.length, 0);
    for (const call of store.listCalls) {
      // The listing starts at (just before) the group's first key, not at the prefix.
      const startAfter = call.startAfter ?? '';
      assert.ok(startAfter.startsWith(call.prefix), startAfter);
      assert.ok(byUtf8(startAfter, mediaKey(1, 'original', 'a.png', call.prefix.slice(0, -1))) < 0);
    }
  });

  test('a store holding all 5,000 keys of one group: about one list per 1,000 keys', async () => {
    const objects = Array.from({ length: 5_000 }, (_, i) => object(mediaKey(i + 1)));
    const store = new MemoryStore(objects);
    const keys = objects.map((o) => o.key).reverse(); // order of the batch does not matter
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.deepEqual(sortedEntries(found), sortedEntries(new Map(objects.map((o) => [o.key, o]))));
    assert.ok(store.listCalls.length <= Math.ceil(5_000 / 1_000) + 1, `${store.listCalls.length} lists`);
    assert.equal(ctx.requests.list, store.listCalls.length);
    assert.equal(ctx.requests.head, 0);
    assertProgress(store.listCalls);
  });

  test('a small batch asks for a small page, and one page still answers it', async () => {
    // A worker's batch of 20 keys in a bucket of 4,000 objects: a 1,000-key page would cost
    // the server 10x a 56-key one and answer nothing more.
    const objects = Array.from({ length: 4_000 }, (_, i) => object(mediaKey(i + 1)));
    const store = new MemoryStore(objects);
    const keys = objects.slice(2_000, 2_020).map((o) => o.key);
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.deepEqual(
      sortedEntries(found),
      sortedEntries(expectedFound(new Map(objects.map((o) => [o.key, o])), keys)),
    );
    assert.deepEqual(
      store.listCalls.map((c) => c.maxKeys),
      [pageSizeFor(20)],
    );
    assert.ok(pageSizeFor(20) < 100);
  });

  test('the page size shrinks with the keys still unresolved, never above 1,000', () => {
    assert.equal(pageSizeFor(5_000), 1_000);
    assert.equal(pageSizeFor(492), 1_000);
    assert.equal(pageSizeFor(100), 216);
    assert.equal(pageSizeFor(1), 18);
  });

  test('a later page asks only for what is still unresolved', async () => {
    // 1,200 present keys, each followed by an unrelated one: the first page (1,000) resolves
    // about 500; the next asks for the rest plus room, not another 1,000.
    const ours = Array.from({ length: 1_200 }, (_, i) => object(mediaKey(i + 1, 'original', 'a.png')));
    const theirs = Array.from({ length: 1_200 }, (_, i) => object(mediaKey(i + 1, 'original', 'b.png')));
    const store = new MemoryStore([...ours, ...theirs]);
    const keys = ours.map((o) => o.key);
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.equal(found.size, 1_200);
    const sizes = store.listCalls.map((c) => c.maxKeys);
    assert.equal(sizes[0], 1_000);
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! <= sizes[i - 1]!, `${sizes}`);
    assert.ok(sizes.at(-1)! < 1_000, `${sizes}`);
    assertProgress(store.listCalls);
  });

  test('5,000 keys across cache/ and non-cache prefixes and several tables, half present', async () => {
    const all = new Map<string, ObjectInfo>();
    const keys: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const table = GROUPED_TABLES[i % GROUPED_TABLES.length]!;
      const key = mediaKey(1_000 + i, i % 3 === 0 ? 'small' : 'original', `${i}.png`, table);
      keys.push(key);
      if (i % 2 === 0) all.set(key, object(key));
    }
    const store = new MemoryStore(all.values());
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.deepEqual(sortedEntries(found), sortedEntries(expectedFound(all, keys)));
    assert.ok(
      store.listCalls.length <= Math.ceil(5_000 / 1_000) + GROUPED_TABLES.length,
      `${store.listCalls.length} lists`,
    );
    // Grouped: every call lists one attachment prefix, and each group was asked for.
    assert.deepEqual(
      [...new Set(store.listCalls.map((c) => c.prefix))].sort(),
      GROUPED_TABLES.map((t) => `${t}/`).sort(),
    );
    for (const call of store.listCalls) assert.ok(call.startAfter?.startsWith(call.prefix));
    assertProgress(store.listCalls);
  });

  test('everything present across groups costs ≤ ceil(keys/1000) + groups lists', async () => {
    const objects: ObjectInfo[] = [];
    for (let i = 0; i < 5_000; i++) {
      objects.push(object(mediaKey(i + 1, 'original', 'x.jpeg', GROUPED_TABLES[i % 3]!)));
    }
    const store = new MemoryStore(objects);
    const ctx = context();
    const found = await lookupKeys(
      store,
      objects.map((o) => o.key),
      ctx,
    );
    assert.equal(found.size, 5_000);
    for (const o of objects) assert.deepEqual(found.get(o.key), o);
    assert.ok(store.listCalls.length <= Math.ceil(5_000 / 1_000) + 3, `${store.listCalls.length} lists`);
    assertProgress(store.listCalls);
  });

  test('a store holding other objects before the batch: listing starts at the first key', async () => {
    const ours = object(mediaKey(500));
    const before = Array.from({ length: 3_000 }, (_, i) => object(mediaKey(i + 1, 'original', 'other.png')));
    const store = new MemoryStore([...before, ours]);
    const ctx = context();
    const found = await lookupKeys(store, [ours.key], ctx);
    assert.deepEqual(found.get(ours.key), ours);
    assert.equal(store.listCalls.length, 1);
  });

  // Our 40 keys (30 present), with 250 unrelated objects sorted between each pair: 10,000 in all.
  function crowded() {
    const all = new Map<string, ObjectInfo>();
    const keys: string[] = [];
    for (let id = 1; id <= 40; id++) {
      const key = mediaKey(id, 'original', 'ours.png');
      keys.push(key);
      if (id % 4 !== 0) all.set(key, object(key));
      for (let j = 0; j < 250; j++) {
        const other = mediaKey(id, 'small', `unrelated-${String(j).padStart(3, '0')}.png`);
        all.set(other, object(other));
      }
    }
    return { all, keys };
  }

  for (const pageSize of [1_000, 100, 7]) {
    test(`a store crowded with 10,000 unrelated keys (page size ${pageSize}) terminates and finds ours`, async () => {
      const { all, keys } = crowded();
      assert.equal(all.size, 10_030);
      const store = new MemoryStore(all.values(), { pageSize });
      const ctx = context();
      const found = await lookupKeys(store, keys, ctx);
      const expected = expectedFound(all, keys);
      assert.equal(expected.size, 30);
      assertFoundOurs(found, expected, keys);
      // Never worse than one request per key (HEAD's cost), and never a repeated call.
      assert.ok(
        store.listCalls.length <= keys.length,
        `${store.listCalls.length} lists for ${keys.length} keys`,
      );
      assertProgress(store.listCalls);
    });
  }

  test('the found map holds only keys of the batch, not unrelated objects the listing returned', async () => {
    const { all, keys } = crowded();
    const store = new MemoryStore(all.values());
    const found = await lookupKeys(store, keys, context());
    assert.deepEqual(sortedEntries(found), sortedEntries(expectedFound(all, keys)));
  });

  test('unrelated keys sorting between a key and its floor (same stem, lower last character)', async () => {
    // `…/a.png` is listed from `…/a.pn`; `…/a.pn0`…`…/a.pn9` sort between the two.
    const ours = object(mediaKey(1, 'original', 'a.png'));
    const noise = Array.from({ length: 20 }, (_, i) =>
      object(`${ours.key.slice(0, -1)}${String.fromCharCode(48 + (i % 10))}${i}`),
    );
    const store = new MemoryStore([...noise, ours], { pageSize: 5 });
    const found = await lookupKeys(store, [ours.key], context());
    assert.deepEqual(found.get(ours.key), ours);
    assertProgress(store.listCalls);
  });

  test('keys mixing 9-digit (000/…) and 18-digit (108/…) partitions in one batch', async () => {
    const ids = [
      '1',
      '999',
      '21130559',
      '999999999',
      '1000000000', // 12 digits: 001/000/000/000
      '108361296738754794',
      '108361296738754795',
      '109000000000000001',
      '99999999999999999', // 17 digits
    ];
    const present = new Map<string, ObjectInfo>();
    const keys: string[] = [];
    for (const [i, id] of ids.entries()) {
      for (const style of ['original', 'small']) {
        const key = mediaKey(id, style, 'f.png');
        keys.push(key);
        if ((i + style.length) % 3 !== 0) present.set(key, object(key));
      }
    }
    assert.ok(keys.some((k) => k.startsWith('media_attachments/files/000/')));
    assert.ok(keys.some((k) => k.startsWith('media_attachments/files/108/')));
    for (const pageSize of [1_000, 2]) {
      const store = new MemoryStore(present.values(), { pageSize });
      const found = await lookupKeys(store, keys, context());
      assert.deepEqual(
        sortedEntries(found),
        sortedEntries(expectedFound(present, keys)),
        `page size ${pageSize}`,
      );
      assertProgress(store.listCalls);
    }
  });

  test('file names whose UTF-8 order differs from UTF-16 order are all found', async () => {
    // U+FF5E sorts after U+1F600 in UTF-16 (surrogates) but before it in UTF-8, as S3 lists.
    const names = ['a.png', 'é.png', '\uFF5E.png', '😀.png', 'z.png', '日本語.gif', 'Zebra.png'];
    const present = names.map((name, i) => object(mediaKey(i + 1, 'original', name)));
    const absent = names.map((name, i) => mediaKey(i + 100, 'original', name));
    for (const pageSize of [1_000, 1, 2, 3]) {
      const store = new MemoryStore(present, { pageSize });
      const keys = [...absent, ...present.map((o) => o.key)];
      const found = await lookupKeys(store, keys, context());
      assert.deepEqual(
        sortedEntries(found),
        sortedEntries(new Map(present.map((o) => [o.key, o]))),
        `page size ${pageSize}`,
      );
      assertProgress(store.listCalls);
    }
  });

  test('names in one directory whose UTF-8 order differs from UTF-16 order are all found', async () => {
    // Same id and style, so only the file names decide the order: UTF-16 puts 😀 before ～.
    const names = ['Zebra.png', 'a.png', 'z.png', 'é.png', '日本語.gif', '\uFF5E.png', '😀.png', '😀x.png'];
    const present = names.map((name) => object(mediaKey(42, 'original', name)));
    for (const pageSize of [1, 2, 3, 1_000]) {
      const store = new MemoryStore(present, { pageSize });
      const keys = present.map((o) => o.key).reverse();
      const found = await lookupKeys(store, keys, context());
      assert.deepEqual(
        sortedEntries(found),
        sortedEntries(new Map(present.map((o) => [o.key, o]))),
        `page size ${pageSize}`,
      );
      assertProgress(store.listCalls);
    }
  });

  test('StartAfter is always a well-formed string (a key ending in an emoji)', async () => {
    const ours = object(mediaKey(1, 'original', 'file-without-extension-😀'));
    const store = new MemoryStore([ours]);
    const found = await lookupKeys(store, [ours.key], context());
    assert.deepEqual(found.get(ours.key), ours);
    for (const call of store.listCalls) {
      assert.ok(
        call.startAfter === undefined || isWellFormed(call.startAfter),
        JSON.stringify(call.startAfter),
      );
    }
  });

  test('the same key twice in a batch is looked up once and found', async () => {
    const o = object(mediaKey(7));
    const store = new MemoryStore([o]);
    const found = await lookupKeys(store, [o.key, o.key, mediaKey(8), mediaKey(8)], context());
    assert.deepEqual(sortedEntries(found), [[o.key, o]]);
    assert.equal(store.listCalls.length, 1);
  });

  test('sizes and ETags come back exactly as listed', async () => {
    const objects: ObjectInfo[] = [
      { key: mediaKey(1), size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e' },
      { key: mediaKey(2), size: 123_456_789, etag: `${'a'.repeat(32)}-12` },
      { key: mediaKey(3), size: 5 },
    ];
    const store = new MemoryStore(objects);
    const found = await lookupKeys(
      store,
      objects.map((o) => o.key),
      context(),
    );
    assert.deepEqual(sortedEntries(found), sortedEntries(new Map(objects.map((o) => [o.key, o]))));
  });

  test('each list goes through ctx.retry', async () => {
    const o = object(mediaKey(1));
    const store = new MemoryStore([o], {}, 2);
    const ctx = context();
    const found = await lookupKeys(store, [o.key], ctx);
    assert.deepEqual(found.get(o.key), o);
    assert.equal(ctx.retried, 2);
    assert.equal(ctx.requests.list, 1, 'onRequest counts the logical request once');
  });

  test('a list that keeps failing rejects lookupKeys', async () => {
    const store = new MemoryStore([object(mediaKey(1))], {}, 10);
    await assert.rejects(lookupKeys(store, [mediaKey(1)], context()), /transient/);
  });

  test('random batches against random stores: found equals the expected map', async () => {
    // Deterministic pseudo-random (LCG) so a failure reproduces.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 30; round++) {
      const all = new Map<string, ObjectInfo>();
      const keys: string[] = [];
      for (let i = 0; i < 200; i++) {
        const table = GROUPED_TABLES[rand(4)]!;
        const key = mediaKey(rand(5_000) + 1, ['original', 'small'][rand(2)], `${rand(50)}.png`, table);
        if (rand(3) === 0) all.set(key, object(key));
        if (rand(4) !== 0) keys.push(key);
        else {
          const noise = mediaKey(rand(5_000) + 1, 'original', `n${randomBytes(2).toString('hex')}`, table);
          all.set(noise, object(noise));
        }
      }
      const store = new MemoryStore(all.values(), { pageSize: 1 + rand(20) });
      const found = await lookupKeys(store, keys, context());
      assertFoundOurs(found, expectedFound(all, keys), keys);
      assertProgress(store.listCalls);
    }
  });
});

describe('lookupKeys on a store without cheap listing', () => {
  test('uses one HEAD per key and no list', async () => {
    const present = [object(mediaKey(1)), object(mediaKey(3, 'small', 'b.png', 'cache/accounts/avatars'))];
    const keys = [mediaKey(1), mediaKey(2), present[1]!.key, mediaKey(108361296738754794n.toString())];
    const store = new MemoryStore(present, { listing: false });
    const ctx = context();
    const found = await lookupKeys(store, keys, ctx);
    assert.deepEqual(sortedEntries(found), sortedEntries(new Map(present.map((o) => [o.key, o]))));
    assert.equal(store.listCalls.length, 0);
    assert.deepEqual([...store.headCalls].sort(), [...keys].sort());
    assert.deepEqual(ctx.requests, { list: 0, head: keys.length });
  });

  test('many keys: every key headed exactly once', async () => {
    const objects = Array.from({ length: 50 }, (_, i) => object(mediaKey(i + 1)));
    const keys = Array.from({ length: 100 }, (_, i) => mediaKey(i + 1));
    const store = new MemoryStore(objects, { listing: false });
    const found = await lookupKeys(store, keys, context());
    assert.equal(found.size, 50);
    for (const o of objects) assert.deepEqual(found.get(o.key), o);
    assert.deepEqual([...store.headCalls].sort(), [...keys].sort());
  });
});
