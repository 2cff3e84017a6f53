/** `--report FILE`: one NDJSON line for every key not copied or skipped (missing, failed). */

import { once } from 'node:events';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { UserError } from '../errors.ts';
import type { CatalogKey } from '../mastodon/types.ts';

/** `sync`: missing, failed; `verify`: what is wrong at the destination. */
export type ReportStatus =
  | 'missing'
  | 'failed'
  | 'absent'
  | 'size'
  | 'md5'
  | 'content-type'
  | 'public'
  | 'acl';

export interface ReportLine {
  status: ReportStatus;
  key: string;
  table: string;
  id: string;
  attachment: string;
  style: string;
  reason: string;
  /** Where else the source was searched, if anywhere. */
  alsoTried?: string;
}

/** An NDJSON file for `--report`: created at once (a bad path is a usage error, exit 2). */
export class NdjsonFile {
  private readonly stream: WriteStream;
  private closing: Promise<void> | null = null;

  constructor(path: string) {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      throw new UserError(`--report ${path}: cannot create (${(error as NodeJS.ErrnoException).code})`, 2);
    }
    this.stream = createWriteStream('', { fd });
    this.stream.on('error', () => {}); // a failing report must not crash the run
  }

  async write(line: unknown): Promise<void> {
    if (!this.stream.write(`${JSON.stringify(line)}\n`)) await once(this.stream, 'drain');
  }

  /** Flushes and closes the file; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.stream.end(resolve));
    return this.closing;
  }
}

export class ReportWriter {
  private readonly file: NdjsonFile;

  constructor(
    path: string,
    private readonly redact: (text: string) => string,
  ) {
    this.file = new NdjsonFile(path);
  }

  async add(
    item: CatalogKey,
    status: ReportLine['status'],
    reason: string,
    alsoTried?: string,
  ): Promise<void> {
    const line: ReportLine = {
      status,
      key: item.key,
      table: item.table,
      id: item.id,
      attachment: item.attachment,
      style: item.style,
      reason: this.redact(reason),
      ...(alsoTried ? { alsoTried } : {}),
    };
    await this.file.write(line);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
