/**
 * Key safety. Keys come from database rows, which may be hostile or corrupt: a file name with
 * `..`, a NUL or a control character must never let a write escape the destination root (a
 * directory, or a bucket behind a server that normalises `..` in URLs).
 */
export function unsafeKeyReason(key: string): string | null {
  if (key === '') return 'empty key';
  if (key.length > 1024) return 'key longer than 1024 bytes';
  if (Buffer.byteLength(key, 'utf8') > 1024) return 'key longer than 1024 bytes';
  if (key.startsWith('/')) return 'absolute path';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'control character in key';
  if (key.includes('\\')) return 'backslash in key';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" path segment`;
  }
  return null;
}
