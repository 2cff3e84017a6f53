/**
 * Cross-site request forgery guard for the dashboard's actions (POSTs only; no action is ever a
 * GET). A request is let through only when it says it comes from the dashboard's own page: the
 * custom header below, which a cross-origin page cannot send without a CORS preflight this
 * server never grants (and an HTML form cannot send at all), and — when the browser sends them —
 * an Origin of this very host and a Sec-Fetch-Site of same-origin.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const ACTION_HEADER = 'x-mastodon-s3-sync-action';

/** Why a request is refused as cross-site, or null when it is the dashboard's own. */
export function crossSiteReason(headers: IncomingHttpHeaders): string | null {
  if (headers[ACTION_HEADER] !== '1') return `the ${ACTION_HEADER} header is missing`;
  const origin = headers.origin;
  if (origin !== undefined) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {}
    if (host === null || host !== headers.host) return `cross-origin request from ${origin.slice(0, 100)}`;
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `cross-site request (${site})`;
  return null;
}

/** The basic-auth user of a request already let in by basicAuth (for the action log). */
export function requestUser(headers: IncomingHttpHeaders): string {
  const header = headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return '';
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decoded.slice(0, Math.max(0, decoded.indexOf(':')));
}
