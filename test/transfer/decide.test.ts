/**
 * decide(): every rule of its header comment, as a table; md5FromEtag's accepted shapes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ObjectInfo } from '../../src/storage/types.ts';
import { type Action, type DecideOptions, decide, md5FromEtag } from '../../src/transfer/decide.ts';

const KEY = 'media_attachments/files/000/000/001/original/a.png';
const MD5_A = '0123456789abcdef0123456789abcdef';
const MD5_B = 'fedcba9876543210fedcba9876543210';

function info(size: number, etag?: string): ObjectInfo {
  return { key: KEY, size, ...(etag !== undefined ? { etag } : {}) };
}

const PLAIN: DecideOptions = { force: false, checksum: false };
const FORCE: DecideOptions = { force: true, checksum: false };
const CHECKSUM: DecideOptions = { force: false, checksum: true };

interface Case {
  name: string;
  source: ObjectInfo | null;
  dest: ObjectInfo | null;
  options: DecideOptions;
  action: Action;
  reason: RegExp;
}

const CASES: Case[] = [
  // Not at the source: missing, whatever else holds.
  { name: 'source missing', source: null, dest: null, options: PLAIN, action: 'missing', reason: /source/ },
  {
    name: 'source missing, destination present',
    source: null,
    dest: info(10),
    options: PLAIN,
    action: 'missing',
    reason: /source/,
  },
  {
    name: 'source missing beats --force',
    source: null,
    dest: info(10),
    options: FORCE,
    action: 'missing',
    reason: /source/,
  },
  {
    name: 'source missing beats --checksum',
    source: null,
    dest: info(10, MD5_A),
    options: { force: true, checksum: true },
    action: 'missing',
    reason: /source/,
  },
  // --force: copy whatever the destination holds.
  {
    name: 'force, identical object',
    source: info(10, MD5_A),
    dest: info(10, MD5_A),
    options: FORCE,
    action: 'copy',
    reason: /forced/,
  },
  {
    name: 'force, absent destination',
    source: info(10),
    dest: null,
    options: FORCE,
    action: 'copy',
    reason: /forced/,
  },
  {
    name: 'force with checksum, identical',
    source: info(10, MD5_A),
    dest: info(10, MD5_A),
    options: { force: true, checksum: true },
    action: 'copy',
    reason: /forced/,
  },
  // Absent at the destination.
  {
    name: 'absent at destination',
    source: info(10),
    dest: null,
    options: PLAIN,
    action: 'copy',
    reason: /not at the destination/,
  },
  {
    name: 'absent at destination (checksum)',
    source: info(10, MD5_A),
    dest: null,
    options: CHECKSUM,
    action: 'copy',
    reason: /not at the destination/,
  },
  // Size differs.
  {
    name: 'destination shorter',
    source: info(10),
    dest: info(9),
    options: PLAIN,
    action: 'copy',
    reason: /size differs \(9 .*10/,
  },
  {
    name: 'destination longer',
    source: info(10),
    dest: info(11),
    options: PLAIN,
    action: 'copy',
    reason: /size differs \(11 .*10/,
  },
  {
    name: 'destination empty',
    source: info(10),
    dest: info(0),
    options: PLAIN,
    action: 'copy',
    reason: /size differs/,
  },
  {
    name: 'size differs although MD5s are equal (checksum)',
    source: info(10, MD5_A),
    dest: info(9, MD5_A),
    options: CHECKSUM,
    action: 'copy',
    reason: /size differs/,
  },
  {
    name: 'size differs with equal MD5s, checksum off',
    source: info(10, MD5_A),
    dest: info(9, MD5_A),
    options: PLAIN,
    action: 'copy',
    reason: /size differs/,
  },
  // Same size.
  {
    name: 'same size, no ETags',
    source: info(10),
    dest: info(10),
    options: PLAIN,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'zero-byte objects',
    source: info(0),
    dest: info(0),
    options: PLAIN,
    action: 'skip',
    reason: /^same size$/,
  },
  // --checksum with two MD5 ETags.
  {
    name: 'checksum, MD5s equal',
    source: info(10, MD5_A),
    dest: info(10, MD5_A),
    options: CHECKSUM,
    action: 'skip',
    reason: /same size and MD5/,
  },
  {
    name: 'checksum, MD5s equal up to case',
    source: info(10, MD5_A.toUpperCase()),
    dest: info(10, MD5_A),
    options: CHECKSUM,
    action: 'skip',
    reason: /same size and MD5/,
  },
  {
    name: 'checksum, MD5s differ',
    source: info(10, MD5_A),
    dest: info(10, MD5_B),
    options: CHECKSUM,
    action: 'copy',
    reason: /MD5 differs/,
  },
  // Multipart ETags and missing ETags fall back to size.
  {
    name: 'checksum, source multipart ETag',
    source: info(10, `${MD5_A}-3`),
    dest: info(10, MD5_B),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'checksum, destination multipart ETag',
    source: info(10, MD5_A),
    dest: info(10, `${MD5_B}-3`),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'checksum, both multipart with different digests',
    source: info(10, `${MD5_A}-3`),
    dest: info(10, `${MD5_B}-2`),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'checksum, short multipart-looking ETag abc-3',
    source: info(10, 'abc-3'),
    dest: info(10, MD5_B),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'checksum, destination without ETag (filesystem)',
    source: info(10, MD5_A),
    dest: info(10),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  {
    name: 'checksum, source without ETag',
    source: info(10),
    dest: info(10, MD5_B),
    options: CHECKSUM,
    action: 'skip',
    reason: /^same size$/,
  },
  // Checksum off ignores ETags entirely.
  {
    name: 'checksum off, MD5s differ',
    source: info(10, MD5_A),
    dest: info(10, MD5_B),
    options: PLAIN,
    action: 'skip',
    reason: /^same size$/,
  },
];

describe('decide', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const decision = decide(c.source, c.dest, c.options);
      assert.equal(decision.action, c.action, decision.reason);
      assert.match(decision.reason, c.reason);
    });
  }

  test('is pure: the inputs are not modified', () => {
    const source = info(10, MD5_A.toUpperCase());
    const dest = info(10, MD5_B);
    const before = JSON.stringify([source, dest]);
    decide(source, dest, CHECKSUM);
    assert.equal(JSON.stringify([source, dest]), before);
  });
});

describe('md5FromEtag', () => {
  const TABLE: Array<[etag: string | undefined, expected: string | undefined]> = [
    [MD5_A, MD5_A],
    [MD5_A.toUpperCase(), MD5_A],
    ['D41D8CD98F00B204E9800998ECF8427E', 'd41d8cd98f00b204e9800998ecf8427e'],
    [undefined, undefined],
    ['', undefined],
    ['abc-3', undefined],
    [`${MD5_A}-3`, undefined],
    [`${MD5_A}-10000`, undefined],
    [`"${MD5_A}"`, undefined], // quotes are stripped by the store, not here
    [MD5_A.slice(0, 31), undefined],
    [`${MD5_A}0`, undefined],
    [`${MD5_A.slice(0, 31)}g`, undefined],
    [` ${MD5_A}`, undefined],
    [`${MD5_A}\n`, undefined],
  ];
  for (const [etag, expected] of TABLE) {
    test(`${JSON.stringify(etag)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(md5FromEtag(etag), expected);
    });
  }
});
