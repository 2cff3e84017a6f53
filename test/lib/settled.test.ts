import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allInOrder } from '../../src/lib/settled.ts';

const later = <T>(ms: number, value: T, fail = false) =>
  new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(value) : resolve(value)), ms));

describe('allInOrder', () => {
  test('resolves with every value, in the order of the steps', async () => {
    assert.deepEqual(await allInOrder([later(20, 'a'), later(1, 2), Promise.resolve(true)]), ['a', 2, true]);
  });

  test('when several fail, the first in the list wins, not the first in time', async () => {
    const first = new Error('source bucket');
    const second = new Error('database');
    await assert.rejects(allInOrder([later(30, first, true), later(1, second, true)]), first);
  });

  test('waits for every step before it rejects (nothing is left running unobserved)', async () => {
    let slowDone = false;
    const slow = later(30, 'x').then((v) => {
      slowDone = true;
      return v;
    });
    await assert.rejects(allInOrder([Promise.reject(new Error('at once')), slow]), /at once/);
    assert.equal(slowDone, true);
  });
});
