/**
 * SSH host key checks, as OpenSSH does them: SHA256 fingerprints and known_hosts files.
 * Pure functions; reading files is the caller's job.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** 'SHA256:<base64 without padding>' of a public key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type inside a public key blob ('ssh-ed25519', 'ssh-rsa', ...), or '' if malformed. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const len = keyBlob.readUInt32BE(0);
  if (len > 64 || keyBlob.length < 4 + len) return '';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** The name known_hosts uses for a host: 'host' on port 22, '[host]:port' otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

interface Entry {
  marker: string; // '', '@revoked' or '@cert-authority'
  hosts: string;
  type: string;
  key: string; // base64
}

function parseLine(line: string): Entry | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/\s+/);
  const marker = fields[0]?.startsWith('@') ? fields.shift()! : '';
  const [hosts, type, key] = fields;
  if (hosts === undefined || type === undefined || key === undefined) return undefined;
  return { marker, hosts, type, key };
}

/** OpenSSH's pattern syntax: '*' any run of characters, '?' one character, case-insensitive. */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** Whether the host field of a line (hashed, or a comma-separated pattern list) covers `name`. */
function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (salt === undefined || hash === undefined) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false; // a negated match wins
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function sameKey(entry: Entry, keyBlob: Buffer): boolean {
  return entry.type === keyTypeOf(keyBlob) && Buffer.from(entry.key, 'base64').equals(keyBlob);
}

function entriesFor(text: string, host: string, port: number): Entry[] {
  const name = knownHostsName(host, port);
  const found: Entry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry && entry.marker !== '@cert-authority' && hostsMatch(entry.hosts, name)) found.push(entry);
  }
  return found;
}

/**
 * Looks the server's key up in known_hosts text: 'match' when an entry for the host has this
 * key; 'mismatch' when the host has an entry of the same key type with a different key (or
 * the key is @revoked); 'unknown' otherwise. Certificate authorities are not supported.
 */
export function matchKnownHosts(
  text: string,
  host: string,
  port: number,
  keyBlob: Buffer,
): 'match' | 'mismatch' | 'unknown' {
  const entries = entriesFor(text, host, port);
  if (entries.some((e) => e.marker === '@revoked' && sameKey(e, keyBlob))) return 'mismatch';
  const plain = entries.filter((e) => e.marker === '');
  if (plain.some((e) => sameKey(e, keyBlob))) return 'match';
  if (plain.some((e) => e.type === keyTypeOf(keyBlob))) return 'mismatch';
  return 'unknown';
}

/** Key types known_hosts holds for the host (so the client can ask the server for one of those). */
export function knownKeyTypes(text: string, host: string, port: number): string[] {
  const types = entriesFor(text, host, port)
    .filter((e) => e.marker === '')
    .map((e) => e.type);
  return [...new Set(types)];
}
