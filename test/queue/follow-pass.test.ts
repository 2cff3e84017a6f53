/**
 * A `jobs --follow` pass' id: the same for a pass started again from the same positions (so a
 * restarted follower finds its batches still queued), different once a pass completed (so a
 * pass whose positions could not move queues its rows, and tries them, again).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { followPassId } from '../../src/queue/follow-pass.ts';
import { batchJobId } from '../../src/queue/job.ts';

const at = (iso: string) => new Date(iso);

describe('followPassId', () => {
  const since = new Map([
    ['media_attachments', at('2026-12-04T10:00:00Z')],
    ['accounts', at('2026-12-04T10:00:00Z')],
  ] as const);

  test('same positions and last pass: same id, whatever the order of the tables', () => {
    const reversed = new Map([...since].reverse());
    assert.equal(followPassId('fabc', since), followPassId('fabc', reversed));
    assert.match(followPassId(null, since), /^f[0-9a-f]{16}$/);
  });

  test('another position, or a pass completed since: another id', () => {
    const moved = new Map(since).set('accounts', at('2026-12-04T10:00:01Z'));
    const ids = new Set([
      followPassId(null, since),
      followPassId('fabc', since),
      followPassId('fdef', since),
      followPassId('fabc', moved),
      followPassId('fabc', new Map()),
    ]);
    assert.equal(ids.size, 5);
  });

  test("scoped job ids are BullMQ-valid (no ':', not a bare integer) and differ from `jobs`' ones", () => {
    const scoped = batchJobId('110', '250', followPassId(null, since));
    assert.doesNotMatch(scoped, /:/);
    assert.notEqual(scoped, batchJobId('110', '250'));
    assert.match(scoped, /-rows-110-250$/);
  });
});
