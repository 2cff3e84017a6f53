/** The keyset SELECT's variants: the suspended-account join and the delta-sync filter. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countQuery, keysetQuery } from '../../src/db/queries/keyset.ts';
import { snowflakeLowerBound } from '../../src/db/reader.ts';

describe('keyset query', () => {
  it('plain', () => {
    assert.equal(
      keysetQuery('public', 'accounts', ['id', 'avatar_file_name']),
      'SELECT t.id::text AS id, t."avatar_file_name" FROM "public"."accounts" AS t WHERE t.id > $1 ORDER BY t.id LIMIT $2',
    );
  });
  it('media of suspended accounts: a left join, one boolean column', () => {
    const sql = keysetQuery('public', 'media_attachments', ['id'], { suspendedColumn: 'suspended_at' });
    assert.match(sql, /\(a\.suspended_at IS NOT NULL\) AS account_suspended/);
    assert.match(sql, /LEFT JOIN "public"\."accounts" AS a ON a\.id = t\.account_id/);
    const old = keysetQuery('public', 'media_attachments', ['id'], { suspendedColumn: 'suspended' });
    assert.match(old, /coalesce\(a\.suspended, false\)/);
    assert.doesNotMatch(
      keysetQuery('public', 'accounts', ['id'], { suspendedColumn: 'suspended_at' }),
      /JOIN/,
    );
  });
  it('media of discarded statuses: a left join on statuses, a missing status counts as discarded', () => {
    const sql = keysetQuery('public', 'media_attachments', ['id'], {
      suspendedColumn: 'suspended_at',
      statusDiscarded: true,
    });
    assert.match(
      sql,
      /\(t\.status_id IS NOT NULL AND \(s\.id IS NULL OR s\.deleted_at IS NOT NULL\)\) AS status_discarded/,
    );
    assert.match(sql, /LEFT JOIN "public"\."statuses" AS s ON s\.id = t\.status_id/);
    assert.match(sql, /LEFT JOIN "public"\."accounts" AS a/);
    assert.doesNotMatch(keysetQuery('public', 'accounts', ['id'], { statusDiscarded: true }), /JOIN/);
  });
  it('delta: any *_updated_at at or after $3, or a snowflake id at or above $4', () => {
    const sql = keysetQuery('public', 'media_attachments', ['id'], {
      changedSince: { updatedAtColumns: ['file_updated_at', 'thumbnail_updated_at'], snowflake: true },
    });
    assert.match(
      sql,
      /WHERE t\.id > \$1 AND \(t\."file_updated_at" >= \$3::timestamp OR t\."thumbnail_updated_at" >= \$3::timestamp OR t\.id >= \$4::bigint\) ORDER BY/,
    );
    const count = countQuery('public', 'custom_emojis', {
      updatedAtColumns: ['image_updated_at'],
      snowflake: false,
    });
    assert.match(count, /WHERE t\.id > \$1 AND \(t\."image_updated_at" >= \$2::timestamp\)$/);
  });
  it('snowflake lower bound: ms << 16, exact beyond 2^53', () => {
    assert.equal(
      snowflakeLowerBound(new Date(Date.UTC(2026, 11, 1))),
      String(BigInt(Date.UTC(2026, 11, 1)) << 16n),
    );
    assert.ok(snowflakeLowerBound(new Date(Date.UTC(2026, 11, 1))).length === 18);
  });
});
