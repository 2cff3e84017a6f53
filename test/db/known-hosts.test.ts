import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fingerprintOf,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  matchKnownHosts,
} from '../../src/db/known-hosts.ts';

// Real keys and hashed lines made with ssh-keygen (-t ed25519 / ecdsa, -lf, -H).
const KEY1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIHGqmEA3BUPHpODpg1DVmVk+9TH2MwtEMebq53qMTAbQ';
const KEY1_FP = 'SHA256:OJPfAMAePDzRsT30c00bns3mDCCmriFgelnoVaMWRZU';
const KEY2 = 'AAAAC3NzaC1lZDI1NTE5AAAAINYCFgRiC5k2IePHOkwkdfAHhzkoSVF5bD4IXaGjy9sM';
const KEY2_FP = 'SHA256:43sBnWDEgDgi/DN1SM0bBgdNISz1KS1xGwM7++ykrxk';
const ECDSA =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD5cX2MYomUtJN8b93/io9u//LpljZb3fX0anvnd9Y6jsRQgyEwe/6cEoPKQSXwaNrRLrRnQD7zNln9A0ZVzYxY=';
/** `ssh-keygen -H` of "[127.0.0.1]:2222 ssh-ed25519 KEY1" and "db.example.org ssh-ed25519 KEY1". */
const HASHED = [
  `|1|Pdm1Mp6Iix75a/gnr6eQkZjMVOc=|YaM0Zn3ruSuF9qDxya3aJc2uvKw= ssh-ed25519 ${KEY1}`,
  `|1|JsX7zEGCUuLmn3Y2jC+/AuZVSYQ=|yom6GK1w7nt0w/4YnvoU5Z+IkZg= ssh-ed25519 ${KEY1}`,
].join('\n');

const key1 = Buffer.from(KEY1, 'base64');
const key2 = Buffer.from(KEY2, 'base64');
const ecdsa = Buffer.from(ECDSA, 'base64');

describe('fingerprintOf / keyTypeOf', () => {
  test('matches what ssh-keygen -lf prints (no = padding)', () => {
    assert.equal(fingerprintOf(key1), KEY1_FP);
    assert.equal(fingerprintOf(key2), KEY2_FP);
    assert.doesNotMatch(fingerprintOf(ecdsa), /=/);
  });

  test('reads the key type from the blob', () => {
    assert.equal(keyTypeOf(key1), 'ssh-ed25519');
    assert.equal(keyTypeOf(ecdsa), 'ecdsa-sha2-nistp256');
    assert.equal(keyTypeOf(Buffer.from([0, 0])), '');
    assert.equal(keyTypeOf(Buffer.from([0, 0, 0, 200, 1])), '');
  });

  test('known_hosts names: bare host on port 22, [host]:port otherwise, lower case', () => {
    assert.equal(knownHostsName('DB.Example.org', 22), 'db.example.org');
    assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  });
});

describe('matchKnownHosts', () => {
  test('plain entry on port 22, with comment, other hosts and blank/comment lines', () => {
    const text = [
      '# comment',
      '',
      `other.example.org ssh-ed25519 ${KEY2}`,
      `db.example.org,10.0.0.5 ssh-ed25519 ${KEY1} root@db`,
    ].join('\n');
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'match');
    assert.equal(matchKnownHosts(text, '10.0.0.5', 22, key1), 'match');
    assert.equal(matchKnownHosts(text, 'DB.EXAMPLE.ORG', 22, key1), 'match');
    assert.equal(matchKnownHosts(text, 'nowhere.example.org', 22, key1), 'unknown');
  });

  test('[host]:port form for other ports; a bare host entry does not cover another port', () => {
    const text = `[127.0.0.1]:2222 ssh-ed25519 ${KEY1}\n127.0.0.1 ssh-ed25519 ${KEY2}\n`;
    assert.equal(matchKnownHosts(text, '127.0.0.1', 2222, key1), 'match');
    assert.equal(matchKnownHosts(text, '127.0.0.1', 2222, key2), 'mismatch');
    assert.equal(matchKnownHosts(text, '127.0.0.1', 2223, key1), 'unknown');
    assert.equal(matchKnownHosts(text, '127.0.0.1', 22, key2), 'match');
    assert.equal(matchKnownHosts(text, '127.0.0.1', 22, key1), 'mismatch');
  });

  test('hashed entries made by ssh-keygen -H', () => {
    assert.equal(matchKnownHosts(HASHED, '127.0.0.1', 2222, key1), 'match');
    assert.equal(matchKnownHosts(HASHED, 'db.example.org', 22, key1), 'match');
    assert.equal(matchKnownHosts(HASHED, 'db.example.org', 22, key2), 'mismatch');
    assert.equal(matchKnownHosts(HASHED, 'db.example.org', 2222, key1), 'unknown');
    assert.equal(matchKnownHosts(HASHED, '127.0.0.2', 2222, key1), 'unknown');
    assert.equal(matchKnownHosts('|1|garbage ssh-ed25519 x', 'db.example.org', 22, key1), 'unknown');
  });

  test('a different key type for the host is unknown, not a mismatch', () => {
    const text = `db.example.org ecdsa-sha2-nistp256 ${ECDSA}\n`;
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'unknown');
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, ecdsa), 'match');
  });

  test('the type field must agree with the key', () => {
    const text = `db.example.org ssh-rsa ${KEY1}\n`;
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'unknown');
  });

  test('wildcards and negation', () => {
    const text = `*.example.org,!evil.example.org ssh-ed25519 ${KEY1}\n[db?.internal]:2222 ssh-ed25519 ${KEY1}\n`;
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'match');
    assert.equal(matchKnownHosts(text, 'evil.example.org', 22, key1), 'unknown');
    assert.equal(matchKnownHosts(text, 'db1.internal', 2222, key1), 'match');
    assert.equal(matchKnownHosts(text, 'db12.internal', 2222, key1), 'unknown');
    // Regex metacharacters in names are literal.
    assert.equal(
      matchKnownHosts(`db.example.org ssh-ed25519 ${KEY1}`, 'dbXexample.org', 22, key1),
      'unknown',
    );
  });

  test('@revoked refuses the key; @cert-authority lines are ignored', () => {
    const text = `@revoked * ssh-ed25519 ${KEY1}\ndb.example.org ssh-ed25519 ${KEY1}\n`;
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'mismatch');
    const ca = `@cert-authority db.example.org ssh-ed25519 ${KEY1}\n`;
    assert.equal(matchKnownHosts(ca, 'db.example.org', 22, key1), 'unknown');
  });

  test('CRLF line endings and tabs', () => {
    const text = `db.example.org\tssh-ed25519\t${KEY1}\r\n`;
    assert.equal(matchKnownHosts(text, 'db.example.org', 22, key1), 'match');
  });
});

describe('knownKeyTypes', () => {
  test('lists the key types known for the host', () => {
    const text = [
      `db.example.org ecdsa-sha2-nistp256 ${ECDSA}`,
      `db.example.org ssh-ed25519 ${KEY1}`,
      `db.example.org ssh-ed25519 ${KEY2}`,
      `other.example.org ssh-rsa AAAA`,
      `@revoked db.example.org ssh-rsa AAAA`,
    ].join('\n');
    assert.deepEqual(knownKeyTypes(text, 'db.example.org', 22), ['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    assert.deepEqual(knownKeyTypes(text, 'db.example.org', 2222), []);
  });
});
