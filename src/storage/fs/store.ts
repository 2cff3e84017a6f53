/**
 * A Mastodon `public/system` directory as an ObjectStore. Writes go to a temporary file in the
 * target directory and are renamed into place, so no reader ever sees a partial file; keys are
 * checked so nothing can be written outside the root. Content-Type and Cache-Control are not
 * stored (the web server derives them), so head/read report none and the catalog's apply.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StoreError } from '../errors.ts';
import { unsafeKeyReason } from '../keys.ts';
import type { ListPage, ObjectInfo, ObjectStore, StoreFeatures, WriteOptions } from '../types.ts';

/**
 * Temporary files are named `.<hash of the target's name>.msst-tmp` beside their target: the
 * same name every time, so one that a killed run left behind is replaced by the next write of
 * that object instead of lying there for ever.
 */
export const TEMP_SUFFIX = '.msst-tmp';

const FS_FATAL_HINT: Readonly<Record<string, string>> = {
  ENOSPC: ' (no space left on the destination disk)',
  EDQUOT: ' (disk quota exceeded)',
  EROFS: ' (the destination file system is read-only)',
  EACCES: ' (permission denied)',
};

export class FsStore implements ObjectStore {
  readonly features: StoreFeatures = { listing: false, md5Etags: false };
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `directory ${this.root}`;
  }

  /** The file for a key, after checking that it stays inside the root. */
  pathOf(key: string): string {
    const reason = unsafeKeyReason(key);
    if (reason)
      throw new StoreError('failed', `refusing key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
    const path = resolve(this.root, ...key.split('/'));
    // Belt and braces: unsafeKeyReason already refuses `..`; this refuses anything else that resolves outside.
    if (!path.startsWith(this.root + sep)) {
      throw new StoreError('failed', `refusing key ${JSON.stringify(key.slice(0, 200))}: outside the root`);
    }
    return path;
  }

  async check({ write }: { write: boolean; signal?: AbortSignal }): Promise<void> {
    try {
      const info = await stat(this.root);
      if (!info.isDirectory()) throw new StoreError('fatal', `${this.root} is not a directory`);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && write) {
        await mkdir(this.root, { recursive: true });
        return;
      }
      throw new StoreError('fatal', `directory ${this.root}: ${code === 'ENOENT' ? 'does not exist' : code}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size } : null;
    } catch (error) {
      if (error instanceof StoreError) throw error;
      if (
        (error as NodeJS.ErrnoException).code === 'ENOENT' ||
        (error as NodeJS.ErrnoException).code === 'ENOTDIR'
      ) {
        return null;
      }
      throw new StoreError('retryable', `stat ${key}: ${(error as NodeJS.ErrnoException).code}`);
    }
  }

  async read(key: string): Promise<{ info: ObjectInfo; body: Readable }> {
    const path = this.pathOf(key);
    try {
      const handle = await open(path, 'r');
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        throw new StoreError('gone', `read ${key}: not a file`);
      }
      // The FileHandle's own stream closes it; a raw fd would be closed twice (again on GC).
      return { info: { key, size: info.size }, body: handle.createReadStream() };
    } catch (error) {
      if (error instanceof StoreError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StoreError('gone', `read ${key}: no such file`);
      throw new StoreError(code === 'EACCES' || code === 'EIO' ? 'fatal' : 'failed', `read ${key}: ${code}`);
    }
  }

  async write(key: string, source: Readable | Buffer, options: WriteOptions): Promise<{ etag?: string }> {
    const body = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    const path = this.pathOf(key);
    const temp = join(
      dirname(path),
      `.${createHash('sha1').update(basename(path)).digest('hex').slice(0, 16)}${TEMP_SUFFIX}`,
    );
    try {
      await mkdir(dirname(path), { recursive: true });
      await rm(temp, { force: true }); // a killed run's leftover; 'wx' below never follows a link
      // The file is opened before the copy starts and closed before the cleanup below runs: a
      // stream that opened it lazily could create the temp file after a failed body's rm.
      const handle = await open(temp, 'wx', options.acl === 'private' ? 0o600 : 0o644);
      const out = handle.createWriteStream();
      try {
        await pipeline(body, out, options.signal ? { signal: options.signal } : {});
      } finally {
        if (!out.closed) await new Promise<void>((settle) => out.once('close', () => settle()));
      }
      const written = await stat(temp);
      if (written.size !== options.size) {
        throw new StoreError('retryable', `write ${key}: wrote ${written.size} of ${options.size} bytes`);
      }
      await rename(temp, path);
      return {};
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      if (error instanceof StoreError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // A full, read-only or forbidden destination: every other write would fail the same way.
      if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EDQUOT') {
        throw new StoreError('fatal', `write ${key}: ${code}${FS_FATAL_HINT[code] ?? ''}`);
      }
      if ((error as Error).name === 'AbortError') throw new StoreError('failed', `write ${key}: aborted`);
      throw new StoreError(
        (error as StoreError).kind ?? 'retryable',
        `write ${key}: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Keys under a prefix directory, sorted, after `startAfter` (for orphan reports; copies use
   * head, which is cheaper here). One page holds the whole subtree.
   */
  async list(prefix: string, startAfter: string | undefined): Promise<ListPage> {
    const base = prefix.replace(/\/$/, '');
    const items: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), key);
        else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) {
          items.push({ key, size: (await stat(join(dir, entry.name))).size });
        }
      }
    };
    await walk(base ? this.pathOf(base) : this.root, base);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return {
      items: startAfter === undefined ? items : items.filter((i) => i.key > startAfter),
      truncated: false,
    };
  }

  async close(): Promise<void> {}
}
