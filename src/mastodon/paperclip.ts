/**
 * Paperclip's naming rules as Mastodon configures them (spec §1, §3, §4). Pure string
 * functions: ids stay strings (18-digit snowflakes exceed 2^53).
 */

export { applyKeyPrefix } from '../lib/key-prefix.ts';

const DIGITS = /^\d+$/;

/**
 * `:id_partition` (spec §3, kt-paperclip ≥ 7): pad to 9 digits below 1e9, else to 12, then
 * take whole groups of 3 from the left — trailing 1 or 2 digits are silently dropped.
 * String arithmetic only (no BigInt): below 1e9 means at most 9 significant digits.
 */
export function idPartition(id: string): string {
  if (!DIGITS.test(id)) throw new RangeError(`not a positive decimal id: ${JSON.stringify(id)}`);
  let start = 0;
  while (start < id.length - 1 && id.charCodeAt(start) === 48) start++; // leading zeros
  const significant = id.slice(start);
  const digits = significant.padStart(significant.length <= 9 ? 9 : 12, '0');
  let partition = digits.slice(0, 3);
  for (let at = 3; at + 3 <= digits.length; at += 3) partition += `/${digits.slice(at, at + 3)}`;
  return partition;
}

/**
 * Splits a file name as Ruby's File.basename(name, '.*') / File.extname do on Linux (spec §4):
 * leading dots never start an extension; the extension follows the last dot after them.
 */
export function splitExtension(fileName: string): { base: string; ext: string } {
  let start = 0;
  while (start < fileName.length && fileName[start] === '.') start++;
  const dot = fileName.lastIndexOf('.');
  if (dot < start) return { base: fileName, ext: '' };
  return { base: fileName.slice(0, dot), ext: fileName.slice(dot + 1) };
}

/**
 * Mastodon's `:filename` interpolation (spec §4): the column verbatim for `original`; for
 * other styles the base name plus the style's format (or the original extension), empty
 * parts dropped.
 */
export function styleFilename(fileName: string, style: string, format?: string): string {
  if (style === 'original') return fileName;
  const { base, ext } = splitExtension(fileName);
  return [base, format ?? ext].filter((part) => part !== '').join('.');
}

/**
 * `[cache/]<table>/<attachment>/` of a key: the prefix one listing covers for every object of
 * an attachment (lookups group a batch's keys by it).
 */
export function attachmentPrefix(key: string): string {
  // indexOf, not split/join: called for every key of every lookup batch.
  let end = key.indexOf('/');
  for (let depth = key.startsWith('cache/') ? 2 : 1; depth > 0 && end >= 0; depth--)
    end = key.indexOf('/', end + 1);
  return end < 0 ? `${key}/` : key.slice(0, end + 1);
}
