/** Writing data to stdout with backpressure, and stopping quietly when the reader goes away (`| head`). */
import type { Writable } from 'node:stream';

export class OutputClosed extends Error {}

export async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new OutputClosed('output closed');
  if (out.write(chunk)) return;
  // Wait for 'drain' or 'close', whichever comes first, and remove both listeners after.
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      out.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      out.off('drain', onDrain);
      reject(new OutputClosed('output closed'));
    };
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}

/** Makes EPIPE on stdout end the run cleanly instead of crashing it. */
export function guardBrokenPipe(out: Writable, onClosed: () => void): void {
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') onClosed();
  });
}

export { bytes, count } from '../lib/format.ts';

/** A plain text table with right-aligned numeric columns. */
export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
