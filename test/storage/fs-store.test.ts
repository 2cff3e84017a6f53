/**
 * FsStore in a temporary directory: round trips, temp-then-rename (nothing partial ever
 * visible, nothing left behind), size checks, key safety (nothing outside the root), check(),
 * list() and file modes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isStoreError } from '../../src/storage/errors.ts';
import { FsStore, TEMP_SUFFIX } from '../../src/storage/fs/store.ts';
import type { WriteOptions } from '../../src/storage/types.ts';

const KEY = 'media_attachments/files/000/000/001/original/a.png';
const DATA = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7 + 3) % 256));

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'msst-fs-store-'));
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

let counter = 0;
/** A fresh `<scratch>/<n>/root` with a sibling `outside` marker, per test. */
function fresh(): { root: string; parent: string; store: FsStore } {
  const parent = join(scratch, String(++counter));
  const root = join(parent, 'root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(parent, 'marker'), 'x');
  return { root, parent, store: new FsStore(root) };
}

function options(size: number, extra: Partial<WriteOptions> = {}): WriteOptions {
  return { size, contentType: 'image/png', cacheControl: 'public', acl: 'public-read', ...extra };
}

function body(data: Buffer, chunk = 8_192): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) chunks.push(data.subarray(at, at + chunk));
  return Readable.from(chunks);
}

function failingBody(data: Buffer, failAfter: number, error = new Error('connection reset')): Readable {
  async function* generate() {
    yield data.subarray(0, failAfter);
    throw error;
  }
  return Readable.from(generate());
}

/** Every file below dir, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(d, entry.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

const tempFiles = (root: string) => tree(root).filter((f) => f.endsWith(TEMP_SUFFIX));

describe('FsStore write and read', () => {
  test('write then read back identical bytes; head reports the size', async () => {
    const { root, store } = fresh();
    assert.equal(await store.head(KEY), null);
    const result = await store.write(KEY, body(DATA), options(DATA.length));
    assert.deepEqual(result, {});
    assert.deepEqual(readFileSync(join(root, ...KEY.split('/'))), DATA);
    assert.deepEqual(await store.head(KEY), { key: KEY, size: DATA.length });
    // read() is exercised in a child process below (see "FsStore read").
    assert.deepEqual(tempFiles(root), []);
  });

  test('an empty object round-trips', async () => {
    const { root, store } = fresh();
    await store.write(KEY, body(Buffer.alloc(0)), options(0));
    assert.deepEqual(await store.head(KEY), { key: KEY, size: 0 });
    assert.deepEqual(readFileSync(join(root, ...KEY.split('/'))), Buffer.alloc(0));
  });

  test('a unicode file name round-trips', async () => {
    const { root, store } = fresh();
    const key = 'custom_emojis/images/000/000/005/original/ñandú_日本語_😀.png';
    await store.write(key, body(DATA), options(DATA.length));
    assert.deepEqual(readFileSync(join(root, ...key.split('/'))), DATA);
    assert.deepEqual(await store.head(key), { key, size: DATA.length });
  });

  test('overwriting replaces the content whole', async () => {
    const { root, store } = fresh();
    await store.write(KEY, body(DATA), options(DATA.length));
    const next = Buffer.from('shorter replacement');
    await store.write(KEY, body(next), options(next.length));
    assert.deepEqual(readFileSync(join(root, ...KEY.split('/'))), next);
    assert.deepEqual(tempFiles(root), []);
  });

  test('head: absent key, a directory, and a path through a file are all null', async () => {
    const { store } = fresh();
    await store.write(KEY, body(DATA), options(DATA.length));
    assert.equal(await store.head('media_attachments/files/000/000/002/original/a.png'), null);
    assert.equal(await store.head('media_attachments/files/000/000/001/original'), null); // a directory
    assert.equal(await store.head(`${KEY}/below-a-file`), null); // ENOTDIR
  });

  // Only failing reads here: a successful read() leaks a FileHandle whose collection crashes
  // the process (see "FsStore read" below).
  test('read of a missing key or a directory is StoreError gone', async () => {
    const { store } = fresh();
    await store.write(KEY, body(DATA), options(DATA.length));
    for (const key of [
      'media_attachments/files/000/000/009/original/a.png',
      'media_attachments/files',
      `${KEY}/x`,
    ]) {
      await assert.rejects(store.read(key), (error) => isStoreError(error, 'gone'), key);
    }
  });

  test('a body that errors midway leaves no file, no temp file', async () => {
    const { root, store } = fresh();
    await assert.rejects(store.write(KEY, failingBody(DATA, 30_000), options(DATA.length)), (error) =>
      isStoreError(error),
    );
    assert.equal(await store.head(KEY), null);
    assert.deepEqual(tree(root), []);
  });

  test('a body that errors midway keeps the previous content intact', async () => {
    const { root, store } = fresh();
    const previous = Buffer.from('previous content');
    await store.write(KEY, body(previous), options(previous.length));
    await assert.rejects(store.write(KEY, failingBody(DATA, 30_000), options(DATA.length)));
    assert.deepEqual(readFileSync(join(root, ...KEY.split('/'))), previous);
    assert.deepEqual(tree(root), [KEY]);
  });

  test('a body error keeps its StoreError kind (retryable stays retryable)', async () => {
    const { StoreError } = await import('../../src/storage/errors.ts');
    const { store } = fresh();
    await assert.rejects(
      store.write(
        KEY,
        failingBody(DATA, 10, new StoreError('retryable', 'body ended short')),
        options(DATA.length),
      ),
      (error) => isStoreError(error, 'retryable'),
    );
  });

  const WRONG_SIZES: Array<[name: string, data: Buffer, size: number]> = [
    ['shorter than size', DATA.subarray(0, 1_000), DATA.length],
    ['empty body for a non-empty size', Buffer.alloc(0), 10],
    ['one byte short', DATA.subarray(0, DATA.length - 1), DATA.length],
    ['longer than size', DATA, DATA.length - 1],
  ];
  for (const [name, data, size] of WRONG_SIZES) {
    test(`a body ${name} is refused (retryable), nothing left behind, previous content kept`, async () => {
      const { root, store } = fresh();
      const previous = Buffer.from('keep me');
      await store.write(KEY, body(previous), options(previous.length));
      await assert.rejects(store.write(KEY, body(data), options(size)), (error) =>
        isStoreError(error, 'retryable'),
      );
      assert.deepEqual(readFileSync(join(root, ...KEY.split('/'))), previous);
      assert.deepEqual(tree(root), [KEY]);
    });
  }

  test('an aborted write leaves nothing behind', async () => {
    const { root, store } = fresh();
    const controller = new AbortController();
    async function* slow() {
      yield DATA.subarray(0, 100);
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
      yield DATA.subarray(100);
    }
    await assert.rejects(
      store.write(KEY, Readable.from(slow()), options(DATA.length, { signal: controller.signal })),
      (error) => isStoreError(error),
    );
    assert.deepEqual(tree(root), []);
  });

  test('acl private → mode 0600, other ACLs → 0644 (less the umask)', async () => {
    const umask = process.umask();
    const CASES: Array<[acl: string | null, mode: number]> = [
      ['private', 0o600],
      ['public-read', 0o644],
      [null, 0o644],
    ];
    for (const [acl, mode] of CASES) {
      const { root, store } = fresh();
      await store.write(KEY, body(DATA), options(DATA.length, { acl }));
      const actual = statSync(join(root, ...KEY.split('/'))).mode & 0o777;
      assert.equal(actual.toString(8), (mode & ~umask).toString(8), `acl ${acl}`);
    }
  });
});

describe('FsStore key safety', () => {
  const HOSTILE: string[] = [
    '../escaped.png',
    '../../escaped.png',
    'media_attachments/../../escaped.png',
    `media_attachments/files/${'../'.repeat(8)}escaped.png`,
    '/tmp/escaped.png',
    '/escaped.png',
    'media_attachments/files/a\u0000.png',
    '\u0000',
    'media_attachments\\..\\..\\escaped.png',
    'media_attachments//escaped.png',
    './escaped.png',
    '..',
    '',
  ];
  for (const key of HOSTILE) {
    test(`refuses ${JSON.stringify(key)} with StoreError failed (this key only); nothing created outside the root`, async () => {
      const { root, parent, store } = fresh();
      const parentBefore = tree(parent);
      const scratchBefore = readdirSync(scratch).sort();
      const tmpBefore = readdirSync(tmpdir())
        .filter((n) => n.startsWith('escaped'))
        .sort();
      const isFatal = (error: unknown) => isStoreError(error, 'failed');
      await assert.rejects(store.write(key, body(DATA), options(DATA.length)), isFatal, 'write');
      await assert.rejects(store.head(key), isFatal, 'head');
      await assert.rejects(store.read(key), isFatal, 'read');
      assert.throws(() => store.pathOf(key), isFatal, 'pathOf');
      assert.deepEqual(tree(parent), parentBefore, 'the parent directory is untouched');
      assert.deepEqual(tree(root), []);
      assert.deepEqual(readdirSync(scratch).sort(), scratchBefore);
      assert.deepEqual(
        readdirSync(tmpdir())
          .filter((n) => n.startsWith('escaped'))
          .sort(),
        tmpBefore,
      );
    });
  }

  test('pathOf maps a safe key below the root', () => {
    const { root, store } = fresh();
    assert.equal(store.pathOf(KEY), join(root, ...KEY.split('/')));
  });

  test('the description names the directory', () => {
    const { root, store } = fresh();
    assert.match(store.description, new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.deepEqual(store.features, { listing: false, md5Etags: false });
  });
});

describe('FsStore check', () => {
  test('creates a missing root for writing', async () => {
    const { parent } = fresh();
    const root = join(parent, 'new', 'deeper');
    await new FsStore(root).check({ write: true });
    assert.ok(statSync(root).isDirectory());
  });

  test('a missing root for reading is a fatal error naming it, and is not created', async () => {
    const { parent } = fresh();
    const root = join(parent, 'missing');
    await assert.rejects(new FsStore(root).check({ write: false }), (error) => {
      assert.ok(isStoreError(error, 'fatal'));
      assert.match((error as Error).message, /does not exist/);
      assert.ok((error as Error).message.includes(root));
      return true;
    });
    assert.throws(() => statSync(root), { code: 'ENOENT' });
  });

  test('an existing root passes for reading and writing', async () => {
    const { store } = fresh();
    await store.check({ write: false });
    await store.check({ write: true });
  });

  test('a root that is a file is refused for reading and writing', async () => {
    const { parent } = fresh();
    const file = join(parent, 'marker');
    for (const write of [false, true]) {
      await assert.rejects(new FsStore(file).check({ write }), (error) => isStoreError(error, 'fatal'));
    }
  });
});

describe('FsStore list', () => {
  test('returns sorted keys with sizes, skips temp files, honours startAfter', async () => {
    const { root, store } = fresh();
    const keys = [
      'media_attachments/files/000/000/002/small/b.png',
      'media_attachments/files/000/000/001/original/a.png',
      'media_attachments/files/000/000/001/small/a.png',
      'media_attachments/files/000/000/010/original/z.png',
      'accounts/avatars/000/000/001/original/x.png',
    ];
    for (const [i, key] of keys.entries()) {
      const data = Buffer.alloc(i + 1, i);
      await store.write(key, body(data), options(data.length));
    }
    // A leftover temp file from an interrupted run.
    writeFileSync(
      join(root, 'media_attachments/files/000/000/001/original', `.abc123${TEMP_SUFFIX}`),
      'partial',
    );

    const page = await store.list('media_attachments/', undefined);
    assert.equal(page.truncated, false);
    assert.deepEqual(page.items, [
      { key: 'media_attachments/files/000/000/001/original/a.png', size: 2 },
      { key: 'media_attachments/files/000/000/001/small/a.png', size: 3 },
      { key: 'media_attachments/files/000/000/002/small/b.png', size: 1 },
      { key: 'media_attachments/files/000/000/010/original/z.png', size: 4 },
    ]);

    const after = await store.list('media_attachments/', 'media_attachments/files/000/000/001/small/a.png');
    assert.deepEqual(
      after.items.map((i) => i.key),
      [
        'media_attachments/files/000/000/002/small/b.png',
        'media_attachments/files/000/000/010/original/z.png',
      ],
    );

    const everything = await store.list('', undefined);
    assert.deepEqual(
      everything.items.map((i) => i.key),
      [...keys].sort(),
    );
  });

  test('a missing prefix lists nothing', async () => {
    const { store } = fresh();
    assert.deepEqual(await store.list('custom_emojis/', undefined), { items: [], truncated: false });
  });

  test('a hostile prefix is refused', async () => {
    const { store } = fresh();
    await assert.rejects(store.list('../', undefined), (error) => isStoreError(error, 'failed'));
  });
});

/**
 * Successful reads run in a child process: FsStore.read hands `handle.fd` to createReadStream
 * and drops the FileHandle, so when the stream has closed the fd and the FileHandle is later
 * garbage-collected, Node closes the fd again — "EBADF: Closing file descriptor N on garbage
 * collection failed" is thrown as an uncaught exception and the process dies (or, if the number
 * was reused meanwhile, an unrelated file or socket is closed). The child forces a collection.
 */
describe('FsStore read (child process, with garbage collection)', () => {
  const storeUrl = new URL('../../src/storage/fs/store.ts', import.meta.url).href;
  let result: { status: number | null; stdout: string; stderr: string };
  let root: string;
  let resultsFile: string;

  before(() => {
    ({ root } = fresh());
    const script = join(scratch, 'read-child.mts');
    resultsFile = join(scratch, 'read-child.json');
    writeFileSync(
      script,
      `
import { writeFileSync } from 'node:fs';
import { FsStore } from ${JSON.stringify(storeUrl)};
const store = new FsStore(process.argv[2]);
const keys = JSON.parse(process.argv[3]);
const results = [];
for (const key of keys) {
  const { info, body } = await store.read(key);
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  results.push({ info, hex: Buffer.concat(chunks).toString('hex') });
}
// Written synchronously: stdout to a pipe is asynchronous and lost if the process dies.
writeFileSync(process.argv[4], JSON.stringify(results));
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 50));
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 50));
console.log('done');
`,
    );
    const files: Array<[string, Buffer]> = [
      [KEY, DATA],
      ['media_attachments/files/000/000/002/original/empty.bin', Buffer.alloc(0)],
      ['custom_emojis/images/000/000/005/original/ñandú_😀.png', DATA.subarray(0, 999)],
    ];
    for (const [key, data] of files) {
      mkdirSync(join(root, ...key.split('/').slice(0, -1)), { recursive: true });
      writeFileSync(join(root, ...key.split('/')), data);
    }
    const keys = files.map(([key]) => key);
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        script,
        root,
        JSON.stringify([...keys, ...keys, ...keys]),
        resultsFile,
      ],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 20_000 },
    );
    result = { status: child.status, stdout: child.stdout, stderr: child.stderr };
  });

  test('read returns the info and the exact bytes', () => {
    let text = '';
    try {
      text = readFileSync(resultsFile, 'utf8');
    } catch {
      assert.fail(`the child wrote no results: ${result.stdout}\n${result.stderr}`);
    }
    const results = JSON.parse(text) as Array<{ info: { key: string; size: number }; hex: string }>;
    assert.equal(results.length, 9);
    const expected = [
      [KEY, DATA],
      ['media_attachments/files/000/000/002/original/empty.bin', Buffer.alloc(0)],
      ['custom_emojis/images/000/000/005/original/ñandú_😀.png', DATA.subarray(0, 999)],
    ] as const;
    for (const [i, r] of results.entries()) {
      const [key, data] = expected[i % 3]!;
      assert.deepEqual(r.info, { key, size: data.length });
      assert.equal(r.hex, data.toString('hex'), key);
    }
  });

  test('the process survives garbage collection after reads', () => {
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /done/);
  });
});
