/**
 * A `jobs --follow` pass' id: the same for a pass started again from the same positions (so a
 * restarted follower finds its batches still queued), different once a pass completed (so a
 * pass whose positions could not move queues its rows, and tries them, again). Its batches'
 * ids: scoped by the pass and by what they hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { followPassId } from '../../src/queue/follow-pass.ts';
import { batchJobId, followBatchJobId } from '../../src/queue/job.ts';

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

  test('batch ids: BullMQ-valid, scoped by the pass, changed by any change of the keys', () => {
    const keys = [
      { key: 'accounts/avatars/000/000/042/original/a.png', contentType: 'image/png', acl: 'public-read' },
    ];
    const pass = followPassId(null, since);
    const id = followBatchJobId(pass, '42', '42', keys as never);
    assert.doesNotMatch(id, /:/);
    assert.match(id, new RegExp(`^${pass}-rows-42-42-[0-9a-f]{16}$`));
    assert.equal(followBatchJobId(pass, '42', '42', structuredClone(keys) as never), id, 'deterministic');
    assert.notEqual(followBatchJobId('fother', '42', '42', keys as never), id, 'another pass');
    const newAvatar = [{ ...keys[0], key: 'accounts/avatars/000/000/042/original/b.png' }];
    const suspended = [{ ...keys[0], acl: 'private' }];
    assert.notEqual(followBatchJobId(pass, '42', '42', newAvatar as never), id, 'a new file');
    assert.notEqual(followBatchJobId(pass, '42', '42', suspended as never), id, 'another ACL');
    assert.notEqual(id, batchJobId('42', '42'));
  });
});
