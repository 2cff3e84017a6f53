/** The Mastodon tables whose rows reference stored files (spec §1, §5). */
export const TABLE_NAMES = [
  'media_attachments',
  'accounts',
  'custom_emojis',
  'preview_cards',
  'preview_card_providers',
  'site_uploads',
  'backups',
  'imports',
] as const;

export type TableName = (typeof TABLE_NAMES)[number];

/**
 * One database row as node-postgres returns it. A column the table does not have (older or
 * newer schema) is `undefined`; a SQL NULL is `null`. The difference matters: an absent
 * `*_storage_schema_version` column means version 0, and so does NULL, but an absent column
 * also tells which Mastodon era the row comes from. Ids and bigint columns are strings.
 */
export type Row = Readonly<Record<string, unknown>>;

/** One object key Mastodon references, with what the copy engine needs to know about it. */
export interface CatalogKey {
  /** The object key (S3) or path relative to `public/system` (filesystem), key prefix applied. */
  key: string;
  table: TableName;
  /** The row id, as a decimal string (snowflakes exceed 2^53). */
  id: string;
  /** Attachment name as in the model: `file`, `thumbnail`, `avatar`, `header`, `image`, `icon`, `dump`, `data`. */
  attachment: string;
  /** Style name: `original`, `small`, `static`, `@1x`, `192`, ... */
  style: string;
  /** Content type of this style's stored file (a video's `small` is `image/png`). */
  contentType: string;
  /** Expected size in bytes where the database knows it (the `original` style), else null. */
  size: number | null;
  /** True when the record is a cache of remote content (Mastodon can re-fetch it). */
  remote: boolean;
  /** The canned ACL Mastodon gives this object, or null for "send no ACL header". */
  acl: string | null;
}

/**
 * The rules that changed between Mastodon versions (see versions.ts for how the database's
 * version is told). The newest version's rules are the default.
 */
export interface MastodonRules {
  /** Backups are written private (4.1.1 and later); before, with the default ACL (§6). */
  backupsPrivate: boolean;
  /** AVIF media get a JPEG `small` (4.2.0 and later); on 4.0–4.1 an AVIF one (§8.2). */
  avifSmallIsJpeg: boolean;
}

export const NEWEST_RULES: MastodonRules = Object.freeze({ backupsPrivate: true, avifSmallIsJpeg: true });

export interface CatalogOptions {
  /** Mastodon's S3_KEY_PREFIX ('' for none). Only meaningful for S3 stores. */
  keyPrefix: string;
  /** The configured ACL (Mastodon's S3_PERMISSION): 'public-read' by default, null for none. */
  acl: string | null;
  /** The rules of the Mastodon version that wrote the database. */
  rules: MastodonRules;
}

export const DEFAULT_CATALOG_OPTIONS: CatalogOptions = {
  keyPrefix: '',
  acl: 'public-read',
  rules: NEWEST_RULES,
};
