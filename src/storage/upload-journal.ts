/**
 * The multipart uploads this process has open, on disk, so that a run killed outright
 * (SIGKILL, a power cut) leaves nothing behind for long: incomplete uploads cost storage at
 * most providers and never show in a listing.
 *
 * Each process appends to its own file `<dir>/<host>-<pid>.ndjson` a line when it starts an
 * upload (`{"start":{key,uploadId}}`) and one when the upload completed or was aborted
 * (`{"end":uploadId}`). At start, a run reads the files of processes of this host that are no
 * longer alive, aborts the uploads they left open, and removes the files. Uploads of live
 * processes (other workers) and of other hosts are never touched; so are uploads this tool
 * did not start (Mastodon's own).
 */

import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { ObjectStore } from './types.ts';

export interface UploadJournal {
  started(key: string, uploadId: string): void;
  ended(uploadId: string): void;
}

export interface OpenUpload {
  key: string;
  uploadId: string;
}

function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileUploadJournal implements UploadJournal {
  private readonly file: string;
  private readonly open = new Set<string>();

  constructor(private readonly dir: string) {
    this.file = join(dir, `${safeHost()}-${process.pid}.ndjson`);
  }

  started(key: string, uploadId: string): void {
    this.open.add(uploadId);
    this.append({ start: { key, uploadId } });
  }

  ended(uploadId: string): void {
    this.open.delete(uploadId);
    this.append({ end: uploadId });
  }

  private append(entry: unknown): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    } catch {
      // A journal that cannot be written only means a leftover is not cleaned up later.
    }
  }

  /** Uploads left open by dead processes of this host, with the files they came from. */
  leftovers(): { uploads: OpenUpload[]; files: string[] } {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return { uploads: [], files: [] };
    }
    const host = safeHost();
    const uploads: OpenUpload[] = [];
    const files: string[] = [];
    for (const name of names) {
      const match = /^(.*)-(\d+)\.ndjson$/.exec(name);
      if (!match || match[1] !== host || Number(match[2]) === process.pid || isAlive(Number(match[2])))
        continue;
      const path = join(this.dir, name);
      files.push(path);
      const open = new Map<string, string>();
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        try {
          const entry = JSON.parse(line) as { start?: OpenUpload; end?: string };
          if (entry.start) open.set(entry.start.uploadId, entry.start.key);
          if (entry.end) open.delete(entry.end);
        } catch {
          // a line cut by the crash
        }
      }
      for (const [uploadId, key] of open) uploads.push({ key, uploadId });
    }
    return { uploads, files };
  }

  forget(files: readonly string[]): void {
    for (const file of files) rmSync(file, { force: true });
  }

  /** Removes this process's own file at a clean exit — unless an abort failed (kept for the next run). */
  close(): void {
    if (this.open.size === 0) rmSync(this.file, { force: true });
  }
}

/** Where a config's journal lives: `<config>.uploads/` next to it. */
export function journalDir(configPath: string): string {
  return `${configPath}.uploads`;
}

/**
 * Aborts the multipart uploads that runs killed on this host left open (see above):
 * they would cost storage and never show in a listing.
 */
export async function abortLeftoverUploads(
  dest: ObjectStore,
  journal: FileUploadJournal,
  log: Logger,
): Promise<void> {
  const { uploads, files } = journal.leftovers();
  if (uploads.length === 0 || !dest.abortUpload) {
    journal.forget(files);
    return;
  }
  let aborted = 0;
  const failed: string[] = [];
  for (const upload of uploads) {
    try {
      await dest.abortUpload(upload.key, upload.uploadId);
      aborted++;
    } catch (error) {
      failed.push(`${upload.key} (${(error as Error).message})`);
      journal.started(upload.key, upload.uploadId); // carried over: the next run tries again
    }
  }
  log.info({ aborted, failed: failed.length }, 'aborted multipart uploads left open by an earlier run');
  if (failed.length > 0) {
    log.warn(
      `could not abort ${failed.length} leftover multipart upload(s); the provider may bill their parts: ${failed.slice(0, 3).join('; ')}`,
    );
  }
  journal.forget(files);
}
