/**
 * The catalog: from one database row, every object key Mastodon references (spec §10).
 * Pure — no I/O — so it is exhaustively unit-tested and cheap enough for millions of rows.
 */

import { applyKeyPrefix } from '../lib/key-prefix.ts';
import { type AttachmentDef, TABLES, type TableDef } from './attachments.ts';
import { contentTypeForExtension, UNKNOWN_CONTENT_TYPE } from './content-types.ts';
import { idPartition, splitExtension, styleFilename } from './paperclip.ts';
import {
  type CatalogKey,
  type CatalogOptions,
  DEFAULT_CATALOG_OPTIONS,
  type Row,
  type TableName,
} from './types.ts';

export { applyKeyPrefix } from '../lib/key-prefix.ts';
export { idPartition, styleFilename } from './paperclip.ts';

/** Digits, not all zeros: ids ≤ 0 (the instance actor) and junk reference nothing. */
const POSITIVE_ID = /^0*[1-9]\d*$/;

/** `storage_schema_version` (§2): the column's value, NULL and an absent column both being 0. */
function storageSchemaVersion(row: Row, attachment: AttachmentDef): number {
  if (!attachment.hasSchemaVersion) return 0;
  const value = row[attachment.columns.schemaVersion];
  if (value === null || value === undefined) return 0;
  const version = Number(value);
  return Number.isFinite(version) ? version : 0;
}

/** Whether the attachment's keys start with `cache/` (§2): version ≥ 1, `local?` defined and false. */
export function usesCachePrefix(row: Row, attachment: AttachmentDef): boolean {
  if (attachment.isLocal === undefined) return false;
  return storageSchemaVersion(row, attachment) >= 1 && !attachment.isLocal(row);
}

function sizeOf(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const size = Number(value); // bigint columns arrive as strings; sizes stay far below 2^53
  return Number.isSafeInteger(size) && size >= 0 ? size : null;
}

function contentTypeOfOriginal(row: Row, attachment: AttachmentDef, fileName: string): string {
  const format = attachment.originalFormat?.(row);
  if (format !== undefined) return contentTypeForExtension(format) ?? UNKNOWN_CONTENT_TYPE;
  const column = row[attachment.columns.contentType];
  if (typeof column === 'string' && column.trim() !== '') return column;
  return contentTypeForExtension(splitExtension(fileName).ext) ?? UNKNOWN_CONTENT_TYPE;
}

/**
 * The ACL Mastodon gives a row's objects (§6): none when S3_PERMISSION is empty; else private
 * - for backups (from Mastodon 4.1.1; before, they got the default ACL: `rules`),
 * - for the media of a suspended account (SuspendAccountService privatizes them; the reader
 *   adds `account_suspended` to media rows),
 * - for the media of a discarded status (RemoveStatusService keeps a removed reported or
 *   preserved post discarded and privatizes its media; on older versions Mastodon never shows
 *   a discarded status' media, so private is right there too; the reader adds
 *   `status_discarded`);
 * else the configured one.
 */
export function aclFor(def: TableDef, row: Row, options: CatalogOptions): string | null {
  if (options.acl === null) return null; // S3_PERMISSION='' sends no ACL, backups included
  if (def.alwaysPrivate && options.rules.backupsPrivate) return 'private';
  if (row['account_suspended'] === true || row['status_discarded'] === true) return 'private';
  return options.acl;
}

/** Keys of one attachment of a row: `original` plus the row's styles. */
function keysForAttachment(
  def: TableDef,
  attachment: AttachmentDef,
  row: Row,
  id: string,
  partition: string,
  options: CatalogOptions,
): CatalogKey[] {
  const fileName = row[attachment.columns.fileName];
  if (typeof fileName !== 'string' || fileName === '') return [];

  const prefix = usesCachePrefix(row, attachment) ? 'cache/' : '';
  const base = `${prefix}${def.table}/${attachment.plural}/${partition}/`;
  const remote = def.isRemote(row);
  const acl = aclFor(def, row, options);
  const originalType = contentTypeOfOriginal(row, attachment, fileName);

  const keys: CatalogKey[] = [
    {
      key: applyKeyPrefix(options.keyPrefix, `${base}original/${fileName}`),
      table: def.table,
      id,
      attachment: attachment.name,
      style: 'original',
      contentType: originalType,
      size: sizeOf(row[attachment.columns.fileSize]),
      remote,
      acl,
    },
  ];
  for (const style of attachment.styles(row, options.rules)) {
    const name = styleFilename(fileName, style.name, style.format);
    // A style without a format keeps the original's format, hence its type.
    const contentType =
      style.format === undefined
        ? originalType
        : (contentTypeForExtension(style.format) ?? UNKNOWN_CONTENT_TYPE);
    keys.push({
      key: applyKeyPrefix(options.keyPrefix, `${base}${style.name}/${name}`),
      table: def.table,
      id,
      attachment: attachment.name,
      style: style.name,
      contentType,
      size: null,
      remote,
      acl,
    });
  }
  return keys;
}

/**
 * Every key a row references, in a stable order (attachments in model order, `original`
 * first). Rows with an id ≤ 0 (the instance actor) or a non-numeric id reference nothing.
 */
export function keysForRow(table: TableName, row: Row, options: Partial<CatalogOptions> = {}): CatalogKey[] {
  const def = TABLES[table];
  const id = String(row['id'] ?? '');
  if (!POSITIVE_ID.test(id)) return [];
  const resolved: CatalogOptions =
    options.keyPrefix !== undefined && options.acl !== undefined && options.rules !== undefined
      ? (options as CatalogOptions)
      : {
          keyPrefix: options.keyPrefix ?? DEFAULT_CATALOG_OPTIONS.keyPrefix,
          acl: options.acl === undefined ? DEFAULT_CATALOG_OPTIONS.acl : options.acl,
          rules: options.rules ?? DEFAULT_CATALOG_OPTIONS.rules,
        };
  const partition = idPartition(id);
  const keys: CatalogKey[] = [];
  for (const attachment of def.attachments) {
    keys.push(...keysForAttachment(def, attachment, row, id, partition, resolved));
  }
  return keys;
}

/**
 * Where else the object of a key may sit (spec §8.5, §8.7), tried only when the key itself is
 * missing at the source:
 * - a `cache/` key: the old location, for rows whose schema version was set without the file
 *   moving (Mastodon 3.1.4's upgrade tool, or a source object missing at upgrade time);
 * - a remote record's key without `cache/` when the table has no schema-version column for the
 *   attachment (the version is unknown): the `cache/` location.
 * Returns null when there is no other place to look.
 */
export function alternateKey(item: CatalogKey, tableColumns: ReadonlySet<string>): string | null {
  const attachment = TABLES[item.table].attachments.find((a) => a.name === item.attachment);
  if (!attachment?.isLocal) return null;
  // The last `<table>/<attachment>/` is the template's: later parts (partition, style, file
  // name) hold no '/', while a key prefix may contain the table name.
  const prefixLength = item.key.lastIndexOf(`${item.table}/${attachment.plural}/`);
  if (prefixLength < 0) return null;
  const keyPrefix = item.key.slice(0, prefixLength);
  if (keyPrefix.endsWith('cache/'))
    return keyPrefix.slice(0, -'cache/'.length) + item.key.slice(prefixLength);
  if (item.remote && !tableColumns.has(attachment.columns.schemaVersion)) {
    return `${keyPrefix}cache/${item.key.slice(prefixLength)}`;
  }
  return null;
}
