/**
 * Basic-auth primitives every HTTP server of the tool shares (the dashboard, a process'
 * /metrics): which hosts are loopback, and a constant-time check of offered credentials.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  user: string;
  password: string;
}

/** Loopback addresses: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison of an Authorization header's credentials with the configured ones. */
export function matches(header: string | undefined, expected: Credentials): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passwordOk;
}
