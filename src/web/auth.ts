/**
 * Basic auth for the dashboard. Required when it listens on anything but loopback; optional
 * (but then enforced on every route) on loopback. The checks themselves: lib/basic-auth.ts.
 */
import type { NextFunction, Request, Response } from 'express';
import { type Credentials, matches } from '../lib/basic-auth.ts';

export { type Credentials, isLoopback } from '../lib/basic-auth.ts';

export function basicAuth(expected: Credentials) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (matches(req.headers.authorization, expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="mastodon-s3-sync", charset="UTF-8"');
    res.status(401).type('text/plain').send('authentication required\n');
  };
}
