/**
 * Live progress on stderr: on a terminal, one line per table redrawn in place; otherwise a log
 * line every few seconds. Reads only `stats.snapshot()`.
 */
import { duration } from '../lib/format.ts';
import type { Logger } from '../log.ts';
import type { Stats, StatsSnapshot, TableCounters } from '../transfer/stats.ts';
import { bytes, count, textTable } from './output.ts';

function done(c: TableCounters): number {
  return c.copied + c.skipped + c.missing + c.failed;
}

interface Rates {
  objectsPerSecond: number;
  bytesPerSecond: number;
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private drawnLines = 0;
  private last: { at: number; objects: number; bytes: number } | null = null;
  private rates: Rates = { objectsPerSecond: 0, bytesPerSecond: 0 };

  constructor(
    private readonly stats: Stats,
    private readonly log: Logger,
    private readonly tty: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /** More to show after the rates (sync --follow: its pass and lag). */
    private readonly extra: () => string = () => '',
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tty ? 500 : 5000);
    this.timer.unref();
  }

  private updateRates(snapshot: StatsSnapshot): void {
    const now = Date.now();
    const objects = done(snapshot.totals);
    if (this.last) {
      const seconds = (now - this.last.at) / 1000;
      if (seconds > 0) {
        // Smoothed, so the line does not jump with every batch.
        const objectRate = (objects - this.last.objects) / seconds;
        const byteRate = (snapshot.bytesStreamed - this.last.bytes) / seconds;
        this.rates = {
          objectsPerSecond: this.rates.objectsPerSecond * 0.6 + objectRate * 0.4,
          bytesPerSecond: this.rates.bytesPerSecond * 0.6 + byteRate * 0.4,
        };
      }
    }
    this.last = { at: now, objects, bytes: snapshot.bytesStreamed };
  }

  private line(name: string, c: TableCounters, snapshot: StatsSnapshot): string {
    const fraction = c.rowsTotal > 0 ? Math.min(1, c.rows / c.rowsTotal) : 0;
    const eta = fraction > 0 ? (snapshot.elapsedSeconds / fraction) * (1 - fraction) : Number.NaN;
    return (
      `${name.padEnd(22)} rows ${count(c.rows)}/${count(c.rowsTotal)}  keys ${count(done(c))}/${count(c.keys)}` +
      `  copied ${count(c.copied)} skipped ${count(c.skipped)} missing ${count(c.missing)} failed ${count(c.failed)}` +
      `  ${bytes(c.bytes)}  ETA ${duration(eta)}`
    );
  }

  tick(): void {
    const snapshot = this.stats.snapshot();
    this.updateRates(snapshot);
    const rate = `${this.rates.objectsPerSecond.toFixed(0)} objects/s  ${(this.rates.bytesPerSecond / 1e6).toFixed(1)} MB/s  concurrency ${snapshot.inFlight}/${snapshot.concurrency}${snapshot.concurrencyAuto ? ' (auto)' : ''}${this.extra()}`;
    if (!this.tty) {
      const t = snapshot.totals;
      this.log.info(
        {
          rows: t.rows,
          keys: t.keys,
          copied: t.copied,
          skipped: t.skipped,
          missing: t.missing,
          failed: t.failed,
          bytes: t.bytes,
        },
        `progress: ${rate}`,
      );
      return;
    }
    const lines = Object.entries(snapshot.tables).map(([name, c]) => this.line(name, c, snapshot));
    lines.push(`${'total'.padEnd(22)} ${rate}  elapsed ${duration(snapshot.elapsedSeconds)}`);
    const width = this.stream.columns ?? 200;
    let out = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const line of lines) out += `\x1b[2K${line.slice(0, width - 1)}\n`;
    this.stream.write(out);
    this.drawnLines = lines.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty) this.tick();
  }
}

export interface Summary {
  copied: number;
  skipped: number;
  missing: number;
  failed: number;
  bytes: number;
  durationSeconds: number;
  dryRun: boolean;
  retries: number;
  throttled: number;
  alternate: number;
  /** Retry passes run over keys that failed with a transient error, and the keys they took. */
  retryPasses: number;
  retriedKeys: number;
  requests: StatsSnapshot['requests'];
  requestsPerObject: number;
  /** Copies at once at the end, whether the tool chose it (concurrency = auto), and the highest. */
  concurrency: number;
  concurrencyAuto: boolean;
  concurrencyPeak: number;
  tables: Record<
    string,
    {
      rows: number;
      keys: number;
      copied: number;
      skipped: number;
      missing: number;
      failed: number;
      bytes: number;
    }
  >;
}

export function summarize(snapshot: StatsSnapshot, dryRun: boolean): Summary {
  const t = snapshot.totals;
  const requests = Object.values(snapshot.requests).reduce((a, b) => a + b, 0);
  const objects = done(t);
  return {
    copied: t.copied,
    skipped: t.skipped,
    missing: t.missing,
    failed: t.failed,
    bytes: t.bytes,
    durationSeconds: Math.round(snapshot.elapsedSeconds * 1000) / 1000,
    dryRun,
    retries: snapshot.retries,
    throttled: snapshot.throttled,
    alternate: snapshot.alternate,
    retryPasses: snapshot.retryPasses,
    retriedKeys: snapshot.retriedKeys,
    requests: snapshot.requests,
    requestsPerObject: objects > 0 ? Math.round((requests / objects) * 1000) / 1000 : 0,
    concurrency: snapshot.concurrency,
    concurrencyAuto: snapshot.concurrencyAuto,
    concurrencyPeak: snapshot.concurrencyPeak,
    tables: Object.fromEntries(
      Object.entries(snapshot.tables).map(([name, c]) => [
        name,
        {
          rows: c.rows,
          keys: c.keys,
          copied: c.copied,
          skipped: c.skipped,
          missing: c.missing,
          failed: c.failed,
          bytes: c.bytes,
        },
      ]),
    ),
  };
}

export function renderSummary(summary: Summary): string {
  const rows = Object.entries(summary.tables).map(([name, c]) => [
    name,
    count(c.copied),
    count(c.skipped),
    count(c.missing),
    count(c.failed),
    bytes(c.bytes),
  ]);
  rows.push([
    'total',
    count(summary.copied),
    count(summary.skipped),
    count(summary.missing),
    count(summary.failed),
    bytes(summary.bytes),
  ]);
  const header = ['table', summary.dryRun ? 'would copy' : 'copied', 'skipped', 'missing', 'failed', 'bytes'];
  const requests = Object.entries(summary.requests)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${count(n)}`)
    .join(', ');
  return (
    textTable(header, rows) +
    `duration ${duration(summary.durationSeconds)}; requests ${requests || 'none'} (${summary.requestsPerObject} per object); retries ${count(summary.retries)}` +
    (summary.concurrencyAuto
      ? `; concurrency auto: ${summary.concurrency} at the end, ${summary.concurrencyPeak} at most`
      : '') +
    (summary.alternate ? `; ${count(summary.alternate)} found at their alternate location` : '') +
    (summary.retryPasses
      ? `; ${count(summary.retriedKeys)} key(s) copied again in ${summary.retryPasses} retry pass(es)`
      : '') +
    (summary.dryRun ? '\n(dry run: nothing was written)' : '') +
    '\n'
  );
}
