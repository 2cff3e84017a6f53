/** The basic-auth rule every HTTP server of the tool follows (the dashboard, a process' /metrics). */
import { getSection, keyError } from '../config/load.ts';
import { DASHBOARD } from '../config/schema.ts';
import { type Credentials, isLoopback } from '../lib/basic-auth.ts';
import type { CommandContext } from './context.ts';

/**
 * The basic-auth credentials of `[dashboard]` for a server on `host` (the dashboard, a
 * process' /metrics): null on loopback without them; off loopback they are required (exit 2).
 */
export function webCredentials(ctx: CommandContext, host: string): Credentials | null {
  const config = getSection(ctx.file, DASHBOARD, false);
  if ((config.user === '') !== (config.password === '')) {
    const missing = config.user === '' ? 'user' : 'password';
    throw keyError(ctx.file, DASHBOARD.name, missing, 'set both user and password, or neither');
  }
  const credentials = config.user ? { user: config.user, password: config.password } : null;
  if (!credentials && !isLoopback(host)) {
    throw keyError(
      ctx.file,
      DASHBOARD.name,
      'password',
      `listening on ${host} (not loopback) requires basic auth: set [dashboard] user and password`,
    );
  }
  return credentials;
}
