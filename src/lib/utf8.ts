/**
 * S3 lists keys in UTF-8 byte order; JavaScript compares UTF-16 code units. The two agree
 * except around surrogate pairs (U+E000–U+FFFF sort after emoji in UTF-16, before in UTF-8).
 */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
