/**
 * Basic auth for the dashboard. Required when it listens on anything but loopback; optional
 * (but then enforced on every route) on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

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

/** Constant-time comparison of the offered credentials with the configured ones. */
export function matches(header: string | undefined, expected: Credentials): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passwordOk;
}

export function basicAuth(expected: Credentials) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (matches(req.headers.authorization, expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="mastodon-s3-sync", charset="UTF-8"');
    res.status(401).type('text/plain').send('authentication required\n');
  };
}
