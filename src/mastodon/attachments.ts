/**
 * Every Mastodon attachment as data (spec §2, §5): one entry per table, one generic function
 * in catalog.ts. Adding a table is a row here, not a new file.
 */
import type { MastodonRules, Row, TableName } from './types.ts';

/** A non-original style: its name and, when it converts, the output format (extension). */
export interface StyleDef {
  name: string;
  format?: string;
}

/** The attachment's column names, computed once (the catalog runs per row, millions of times). */
export interface AttachmentColumns {
  fileName: string;
  contentType: string;
  fileSize: string;
  schemaVersion: string;
}

export interface AttachmentDef extends AttachmentSpec {
  columns: AttachmentColumns;
}

interface AttachmentSpec {
  /** Model attachment name: the column prefix (`file` → `file_file_name`). */
  name: string;
  /** Pluralised name used in the key (`files`, `avatars`, `data`). */
  plural: string;
  /** Added in a later Mastodon version: older databases lack its columns (media thumbnails, 3.2). */
  optional?: boolean;
  /** Whether `<name>_storage_schema_version` can exist (it decides the `cache/` prefix). */
  hasSchemaVersion: boolean;
  /**
   * The model's `local?`, when the model defines it (§2). Absent: never `cache/`.
   * Media thumbnails use the media row's `remote_url`, not `thumbnail_remote_url`.
   */
  isLocal?: (row: Row) => boolean;
  /** The styles besides `original`, evaluated on the current row (by the version's rules). */
  styles: (row: Row, rules: MastodonRules) => readonly StyleDef[];
  /** The `original` style's output format where it differs from the stored name (content type only). */
  originalFormat?: (row: Row) => string | undefined;
}

export interface TableDef extends Omit<TableSpec, 'attachments'> {
  attachments: readonly AttachmentDef[];
}

interface TableSpec {
  table: TableName;
  attachments: readonly AttachmentSpec[];
  /** Columns besides id and the attachment columns that naming depends on. */
  extraColumns: readonly string[];
  /** Whether a row is a cache of remote content (Mastodon can re-fetch it). */
  isRemote: (row: Row) => boolean;
  /** Mastodon writes these objects private whatever S3_PERMISSION says (backups from 4.1.1, §6). */
  alwaysPrivate?: boolean;
}

const NONE: readonly StyleDef[] = [];
const SMALL_PNG: readonly StyleDef[] = [{ name: 'small', format: 'png' }];
const SMALL_JPEG: readonly StyleDef[] = [{ name: 'small', format: 'jpeg' }];
const SMALL_SAME: readonly StyleDef[] = [{ name: 'small' }];
const STATIC_PNG: readonly StyleDef[] = [{ name: 'static', format: 'png' }];

/** `MediaAttachment.file_styles`, first match wins (§5.1). */
const MEDIA_STYLE_SETS: ReadonlyArray<[readonly string[], readonly StyleDef[]]> = [
  [['image/gif', 'video/webm', 'video/quicktime'], SMALL_PNG], // VIDEO_CONVERTED_STYLES
  [['image/heic', 'image/heif', 'image/avif'], SMALL_JPEG], // IMAGE_CONVERTED_STYLES
  [['image/jpeg', 'image/png', 'image/webp'], SMALL_SAME], // IMAGE_STYLES
  [['video/mp4', 'video/ogg'], SMALL_PNG], // VIDEO_STYLES
];

function mediaFileStyles(row: Row, rules: MastodonRules): readonly StyleDef[] {
  const contentType = row['file_content_type'];
  if (typeof contentType !== 'string') return NONE;
  // 4.0–4.1 accepted AVIF but converted only HEIC/HEIF: an AVIF `small` under its own name (§8.2).
  if (contentType === 'image/avif' && !rules.avifSmallIsJpeg) return SMALL_SAME;
  for (const [types, styles] of MEDIA_STYLE_SETS) {
    if (types.includes(contentType)) return styles;
  }
  return NONE; // AUDIO_STYLES: original only (audio, NULL, unknown)
}

/** Styles of `site_uploads.file` by `var` (§5.7); all png. */
const SITE_UPLOAD_STYLES: Readonly<Record<string, readonly string[]>> = {
  thumbnail: ['@1x', '@2x'],
  favicon: ['16', '32', '48'],
  app_icon: [
    '57',
    '60',
    '72',
    '76',
    '114',
    '120',
    '144',
    '152',
    '167',
    '180',
    '1024',
    '36',
    '48',
    '96',
    '192',
    '256',
    '384',
    '512',
  ],
};

function siteUploadStyles(row: Row): readonly StyleDef[] {
  const variable = row['var'];
  if (typeof variable !== 'string' || !Object.hasOwn(SITE_UPLOAD_STYLES, variable)) return NONE;
  // Before 4.0 (no `blurhash` column) a thumbnail had no @1x/@2x styles (§5.7, §8.4).
  if (variable === 'thumbnail' && row['blurhash'] === undefined) return NONE;
  return SITE_UPLOAD_STYLES[variable]!.map((name) => ({ name, format: 'png' }));
}

/** Ruby's `blank?`: nil, empty or whitespace only. */
function isBlank(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && /^\s*$/.test(value));
}

const hasNoDomain = (row: Row): boolean => row['domain'] === null || row['domain'] === undefined;
const mediaIsLocal = (row: Row): boolean => isBlank(row['remote_url']);
const gifStatic = (prefix: string) => (row: Row) =>
  row[`${prefix}_content_type`] === 'image/gif' ? STATIC_PNG : NONE;

const TABLE_SPECS: Readonly<Record<TableName, TableSpec>> = {
  media_attachments: {
    table: 'media_attachments',
    extraColumns: ['remote_url'],
    isRemote: (row) => !mediaIsLocal(row),
    attachments: [
      {
        name: 'file',
        plural: 'files',
        hasSchemaVersion: true,
        isLocal: mediaIsLocal,
        styles: mediaFileStyles,
      },
      // The thumbnail's schema column exists from 4.6 on; absent means never `cache/` (§5.2).
      {
        name: 'thumbnail',
        plural: 'thumbnails',
        optional: true,
        hasSchemaVersion: true,
        isLocal: mediaIsLocal,
        styles: () => NONE,
      },
    ],
  },
  accounts: {
    table: 'accounts',
    extraColumns: ['domain'],
    isRemote: (row) => !hasNoDomain(row),
    attachments: [
      {
        name: 'avatar',
        plural: 'avatars',
        hasSchemaVersion: true,
        isLocal: hasNoDomain,
        styles: gifStatic('avatar'),
      },
      {
        name: 'header',
        plural: 'headers',
        hasSchemaVersion: true,
        isLocal: hasNoDomain,
        styles: gifStatic('header'),
      },
    ],
  },
  custom_emojis: {
    table: 'custom_emojis',
    extraColumns: ['domain'],
    isRemote: (row) => !hasNoDomain(row),
    attachments: [
      {
        name: 'image',
        plural: 'images',
        hasSchemaVersion: true,
        isLocal: hasNoDomain,
        styles: () => STATIC_PNG,
      },
    ],
  },
  preview_cards: {
    table: 'preview_cards',
    extraColumns: [],
    isRemote: () => true,
    attachments: [
      {
        name: 'image',
        plural: 'images',
        hasSchemaVersion: true,
        isLocal: () => false,
        styles: () => NONE,
        // A GIF card image is stored as JPEG under its `.gif` name (§5.5).
        originalFormat: (row) => (row['image_content_type'] === 'image/gif' ? 'jpeg' : undefined),
      },
    ],
  },
  preview_card_providers: {
    table: 'preview_card_providers',
    extraColumns: [],
    isRemote: () => false,
    attachments: [{ name: 'icon', plural: 'icons', hasSchemaVersion: false, styles: () => STATIC_PNG }],
  },
  site_uploads: {
    table: 'site_uploads',
    extraColumns: ['var', 'blurhash'],
    isRemote: () => false,
    attachments: [{ name: 'file', plural: 'files', hasSchemaVersion: false, styles: siteUploadStyles }],
  },
  backups: {
    table: 'backups',
    extraColumns: [],
    isRemote: () => false,
    alwaysPrivate: true,
    attachments: [{ name: 'dump', plural: 'dumps', hasSchemaVersion: false, styles: () => NONE }],
  },
  imports: {
    table: 'imports',
    extraColumns: [],
    isRemote: () => false,
    attachments: [{ name: 'data', plural: 'data', hasSchemaVersion: false, styles: () => NONE }],
  },
};

function withColumns(spec: TableSpec): TableDef {
  const attachments = spec.attachments.map((a) => ({
    ...a,
    columns: {
      fileName: `${a.name}_file_name`,
      contentType: `${a.name}_content_type`,
      fileSize: `${a.name}_file_size`,
      schemaVersion: `${a.name}_storage_schema_version`,
    },
  }));
  return { ...spec, attachments };
}

export const TABLES = Object.fromEntries(
  Object.entries(TABLE_SPECS).map(([name, spec]) => [name, withColumns(spec)]),
) as Readonly<Record<TableName, TableDef>>;

/** The columns a reader should select for a table (the reader keeps only those that exist). */
export function wantedColumns(def: TableDef): string[] {
  const columns = ['id', ...def.extraColumns];
  for (const { columns: c, hasSchemaVersion } of def.attachments) {
    columns.push(c.fileName, c.contentType, c.fileSize);
    if (hasSchemaVersion) columns.push(c.schemaVersion);
  }
  return columns;
}
