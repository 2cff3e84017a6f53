/**
 * Numbers as people read them, one way for the terminal and the dashboard alike: the page
 * embeds these very functions (their source, via toString), so each must stay self-contained
 * plain JavaScript once its types are stripped: no imports, no nested functions.
 */

/**
 * A count with thousands separators: 1,234,567. Not toLocaleString: its first call loads ICU's
 * number formatting, 20–25 ms of every run's start.
 */
export function count(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** Bytes in binary units: "512 B", "1.5 KiB", "3.2 GiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(n)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A rate of bytes per second, in the same units: "12.5 MiB/s". */
export function byteRate(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`;
}

/** A duration: "42s", "5m07s", "3h04m"; "-" when unknown. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Time left: a duration, "done" at 0, "-" when unknown. */
export function eta(seconds: number | null | undefined): string {
  return seconds === 0 ? 'done' : duration(seconds);
}
