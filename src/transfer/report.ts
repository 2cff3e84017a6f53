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

export class ReportWriter {
  private readonly stream: WriteStream;

  constructor(
    path: string,
    private readonly redact: (text: string) => string,
  ) {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      throw new UserError(`--report ${path}: cannot create (${(error as NodeJS.ErrnoException).code})`, 2);
    }
    this.stream = createWriteStream('', { fd });
    this.stream.on('error', () => {}); // a failing report must not crash the copy; close() reports it
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
    if (!this.stream.write(`${JSON.stringify(line)}\n`)) await once(this.stream, 'drain');
  }

  private closing: Promise<void> | null = null;

  /** Flushes and closes the file; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.stream.end(resolve));
    return this.closing;
  }
}
