/**
 * Content types of the files Mastodon stores, by extension. Used where the database does not
 * say (a style converted to another format, or a NULL content-type column), so that a known
 * type is never sent as application/octet-stream.
 */
const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  jfif: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  heif: 'image/heif',
  bmp: 'image/bmp',
  ico: 'image/vnd.microsoft.icon',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  ogv: 'video/ogg',
  '3gp': 'video/3gpp',
  wmv: 'video/x-ms-asf',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  weba: 'audio/webm',
  zip: 'application/zip',
  csv: 'text/csv',
  json: 'application/json',
};

export const UNKNOWN_CONTENT_TYPE = 'application/octet-stream';

/** The content type for an extension (case-insensitive, without the dot), or null if unknown. */
export function contentTypeForExtension(ext: string): string | null {
  return TYPES_BY_EXTENSION[ext.toLowerCase()] ?? null;
}
