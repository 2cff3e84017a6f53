/**
 * The batch copier in process, on in-memory stores (no CLI, no servers): what a batch's tally
 * says is exactly what the run's stats say (one counter model), transient failures beyond the
 * budget are held back for a retry pass when asked, a fatal refusal is reported once with its
 * side, a key missing at the source is found at its alternate place, and unsafe keys are refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import type { CatalogKey } from '../../src/mastodon/types.ts';
import { BatchCopier, type CopierSettings } from '../../src/run/copier.ts';
import { StoreError } from '../../src/storage/errors.ts';
import { outcomesOf } from '../../src/transfer/outcomes.ts';
import { Stats } from '../../src/transfer/stats.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

const SETTINGS: CopierSettings = {
  force: false,
  checksum: false,
  dryRun: false,
  concurrency: 4,
  retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
  serverSide: false,
  cacheControl: 'public, max-age=315576000, immutable',
  maxRequestsPerSecond: 0,
};

function key(name: string, table: CatalogKey['table'] = 'media_attachments'): CatalogKey {
  return {
    key: `${table}/files/000/000/001/original/${name}`,
    table,
    id: '1',
    attachment: 'file',
    style: 'original',
    contentType: 'image/png',
    size: null,
    remote: false,
    acl: 'public-read',
  };
}

function setup(settings: Partial<CopierSettings> = {}) {
  const source = new MemoryStore({ description: 'memory source' });
  const dest = new MemoryStore({ description: 'memory destination' });
  const stats = new Stats();
  const fatal: Array<[string, string]> = [];
  const never = new AbortController().signal;
  const copier = new BatchCopier(
    {
      source,
      dest,
      stats,
      log: createLogger({ level: 'silent', format: 'text', secrets: [] }),
      report: null,
      abort: never,
      stop: never,
      onFatal: (side, message) => fatal.push([side, message]),
    },
    { ...SETTINGS, ...settings },
  );
  return { source, dest, stats, copier, fatal };
}

async function run(
  copier: BatchCopier,
  keys: CatalogKey[],
  alternate: (k: CatalogKey) => string | null = () => null,
) {
  const { finished } = await copier.submitBatch(keys, alternate);
  const tally = await finished;
  await copier.drain();
  return tally;
}

describe('batch copier', () => {
  test('copies what is missing, skips what is there; the tally and the stats say the same', async () => {
    const { source, dest, stats, copier } = setup();
    const keys = ['a.png', 'b.png', 'c.png'].map((n) => key(n));
    for (const k of keys) source.put(k.key, Buffer.from(`body ${k.key}`), { contentType: 'image/png' });
    dest.put(keys[0]!.key, Buffer.from(`body ${keys[0]!.key}`));
    const tally = await run(copier, keys);
    assert.deepEqual(outcomesOf(tally), {
      copied: 2,
      skipped: 1,
      missing: 0,
      failed: 0,
      bytes: Buffer.byteLength(`body ${keys[1]!.key}`) * 2,
    });
    assert.deepEqual(outcomesOf(stats.snapshot().totals), outcomesOf(tally));
    const stored = dest.get(keys[1]!.key)!;
    assert.equal(stored.contentType, 'image/png');
    assert.equal(stored.cacheControl, SETTINGS.cacheControl);
    assert.equal(stored.acl, 'public-read');
  });

  test('a transient failure beyond the budget is held back (not counted) when a retry pass follows', async () => {
    const { source, stats, copier } = setup({ retryLater: true });
    const k = key('flaky.png');
    source.put(k.key, Buffer.from('flaky'));
    source.inject({ op: 'read', key: k.key, times: 3, fault: new StoreError('retryable', 'socket hang up') });
    const tally = await run(copier, [k]);
    assert.equal(tally.failed, 0);
    assert.equal(stats.snapshot().totals.failed, 0);
    assert.equal(copier.heldBackCount, 1);
    // The retry pass: the fault is spent, the key is copied and counted once.
    copier.stopHoldingBack();
    const again = await run(
      copier,
      copier.takeHeldBack().map((h) => h.item),
    );
    assert.equal(again.copied, 1);
    assert.equal(stats.snapshot().totals.copied, 1);
    assert.equal(stats.snapshot().totals.failed, 0);
  });

  test('held-back keys left when no pass remains are counted failed, with their reason', async () => {
    const { source, stats, copier } = setup({ retryLater: true });
    const k = key('down.png');
    source.put(k.key, Buffer.from('x'));
    source.inject({ op: 'read', key: k.key, fault: new StoreError('retryable', 'HTTP 503') });
    await run(copier, [k]);
    await copier.failHeldBack();
    assert.equal(stats.snapshot().totals.failed, 1);
    assert.equal(copier.heldBackCount, 0);
  });

  test('without retry passes the same failure is counted failed at once', async () => {
    const { source, copier } = setup();
    const k = key('down.png');
    source.put(k.key, Buffer.from('x'));
    source.inject({ op: 'read', key: k.key, fault: new StoreError('retryable', 'HTTP 503') });
    const tally = await run(copier, [k]);
    assert.equal(tally.failed, 1);
    assert.match(tally.problems[0]!.reason, /HTTP 503/);
  });

  test('a refused write is fatal: reported once with its side, never retried', async () => {
    const { source, dest, copier, fatal } = setup();
    const k = key('denied.png');
    source.put(k.key, Buffer.from('x'));
    const rule = dest.inject({
      op: 'write',
      fault: new StoreError('fatal', 'PUT denied.png: HTTP 403 AccessDenied'),
    });
    const tally = await run(copier, [k]);
    assert.equal(tally.failed, 1);
    assert.deepEqual(fatal, [['destination', 'PUT denied.png: HTTP 403 AccessDenied']]);
    assert.equal(rule.hits, 1, 'not retried');
  });

  test('missing at the source: looked for at its alternate place, else reported missing', async () => {
    const { source, dest, stats, copier } = setup();
    const moved = key('moved.png');
    const gone = key('gone.png');
    source.put(`cache/${moved.key}`, Buffer.from('moved'));
    const tally = await run(copier, [moved, gone], (k) => `cache/${k.key}`);
    assert.equal(tally.copied, 1);
    assert.equal(tally.missing, 1);
    assert.equal(stats.snapshot().alternate, 1);
    assert.equal(dest.get(moved.key)!.data.toString(), 'moved', 'copied to the referenced key');
    assert.deepEqual(
      tally.problems.map((p) => [p.status, p.key]),
      [['missing', gone.key]],
    );
  });

  test('an unsafe key is refused before any request', async () => {
    const { source, copier } = setup();
    const evil = { ...key('x.png'), key: 'media_attachments/../../etc/passwd' };
    const tally = await run(copier, [evil]);
    assert.equal(tally.failed, 1);
    assert.match(tally.problems[0]!.reason, /unsafe key/);
    assert.equal(source.calls.length, 0);
  });
});
