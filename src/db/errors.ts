/**
 * Turning node-postgres errors into one clear line, and telling which ones a reconnect can
 * cure (the connection dropped) from those it cannot (wrong password, missing database).
 */
import { ServiceError } from '../errors.ts';

interface PgLikeError {
  code?: string;
  message?: string;
}

/** SQLSTATEs and socket codes after which a new connection may succeed. */
const RECONNECTABLE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ETIMEDOUT',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '08000',
  '08003',
  '08006',
]);

export function isConnectionLost(error: unknown): boolean {
  const e = error as PgLikeError;
  if (e?.code && (RECONNECTABLE.has(e.code) || e.code.startsWith('08'))) return true;
  const message = e?.message ?? '';
  return /Connection terminated|Client has encountered a connection error|not queryable|terminating connection/i.test(
    message,
  );
}

/** A one-line explanation of a failure to connect, naming what was tried and never a password. */
export function describeConnectError(error: unknown, target: string): ServiceError {
  const e = error as PgLikeError;
  const why = (() => {
    switch (e?.code) {
      case 'ECONNREFUSED':
        return 'connection refused (is PostgreSQL running and listening there?)';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'host name not found';
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'host unreachable';
      case '28P01':
      case '28000':
        return `authentication failed (${firstLine(e.message)}); check [pg.database] user and password`;
      case '3D000':
        return `${firstLine(e.message)}; check [pg.database] database`;
      default:
        if (/timeout/i.test(e?.message ?? '')) return 'no answer before connect_timeout';
        return firstLine(e?.message ?? String(error));
    }
  })();
  return new ServiceError(`cannot connect to PostgreSQL at ${target}: ${why}`);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.slice(0, 300);
}
