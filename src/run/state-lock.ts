/**
 * One follower (`sync --follow` or `jobs --follow`) per state file: a lock file beside it (`<state>.lock`) holding the
 * owner's pid, host and start time. A second follower refuses to start while the owner lives;
 * a lock whose process is gone (kill -9, a crash) is taken over, so a dead process never holds
 * it for ever. A lock from another host cannot be checked and is respected: the message says
 * which file to remove.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '../errors.ts';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  /** Which follower holds it (`sync --follow`, `jobs --follow`). */
  command: string;
}

export function lockPath(statePath: string): string {
  return `${statePath}.lock`;
}

/** Whether process `pid` runs on this host (signal 0 checks without signalling). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** The lock's owner; undefined when there is no lock file, null when it is not one of ours. */
function readOwner(path: string): LockOwner | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') {
      return {
        pid: owner.pid,
        host: owner.host,
        startedAt: String(owner.startedAt ?? ''),
        command: typeof owner.command === 'string' ? owner.command : 'sync --follow',
      };
    }
  } catch {}
  return null; // unreadable (a crash mid-write): free to take
}

/**
 * Takes the lock or throws a ConfigError (exit 2) naming the holder; returns the release
 * function. An unwritable directory is a ConfigError too, naming the path.
 */
export function acquireStateLock(statePath: string, what = 'sync --follow', attempt = 1): () => void {
  const path = lockPath(statePath);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: what,
  };
  const holder = readOwner(path);
  if (holder && holder.pid !== process.pid) {
    if (holder.host !== me.host) {
      throw new ConfigError(
        `${path}: a ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}) uses this state file; if it is not running, remove ${path}`,
      );
    }
    if (isAlive(holder.pid)) {
      throw new ConfigError(
        `another ${holder.command} is running on this state file (pid ${holder.pid}, since ${holder.startedAt}): ${path}`,
      );
    }
  }
  try {
    if (holder === undefined) {
      // No lock yet: create it exclusively, so two followers starting together cannot both win.
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
    } else {
      // A dead holder's lock: replaced whole (renamed over), never seen half-written.
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(me)}\n`);
      renameSync(temporary, path);
    }
  } catch (error) {
    rmSync(`${path}.${process.pid}.tmp`, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Another follower created it between our read and our write: check that one (once).
    if (code === 'EEXIST' && attempt === 1) return acquireStateLock(statePath, what, 2);
    throw new ConfigError(`cannot write the state file's lock ${path}: ${code ?? (error as Error).message}`);
  }
  return () => {
    if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
  };
}

/**
 * For commands that write the state file without following (`sync`): refuses while a live
 * follower holds the lock, since both would record positions (exit 2). A stale lock is ignored.
 */
export function assertNotFollowed(statePath: string): void {
  const path = lockPath(statePath);
  const holder = readOwner(path);
  if (!holder || holder.pid === process.pid) return;
  if (holder.host === hostname() && !isAlive(holder.pid)) return;
  throw new ConfigError(
    `a ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}) is using this state file; stop it first, or give this run its own config (${path})`,
  );
}
