/**
 * S3_KEY_PREFIX (spec §1): the path becomes `prefix + '/' + template`, and Paperclip's S3
 * storage strips one leading '/'. So '' is no prefix, and 'a/' yields 'a//key' as Mastodon does.
 */
export function applyKeyPrefix(prefix: string, key: string): string {
  if (prefix === '') return key;
  const path = `${prefix}/${key}`;
  return path.startsWith('/') ? path.slice(1) : path;
}
