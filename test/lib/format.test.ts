/** The number formats the terminal and the dashboard share (the page embeds these functions). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { byteRate, bytes, count } from '../../src/lib/format.ts';

describe('format', () => {
  test('count: thousands separators, rounded, negative numbers too', () => {
    assert.deepEqual([0, 7, 999, 1000, 12_345, 1_234_567, 12_345_678.6, -1234, -999].map(count), [
      '0',
      '7',
      '999',
      '1,000',
      '12,345',
      '1,234,567',
      '12,345,679',
      '-1,234',
      '-999',
    ]);
    // The same as en-US formatting, for every size of number the tool shows.
    for (let n = 1; n < 1e15; n = n * 7 + 3) assert.equal(count(n), n.toLocaleString('en-US'));
  });

  test('count is self-contained (the page embeds its source)', () => {
    const embedded = new Function(`${count.toString()}; return count;`)() as typeof count;
    assert.equal(embedded(9_876_543), '9,876,543');
  });

  test('bytes and byteRate: binary units', () => {
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(1536), '1.5 KiB');
    assert.equal(byteRate(3 * 1024 * 1024), '3.0 MiB/s');
  });
});
