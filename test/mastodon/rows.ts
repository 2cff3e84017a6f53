/**
 * Row builders for the catalog test vectors. Each builder returns a row shaped like what
 * node-postgres returns for `SELECT *` on the given schema era (test/fixtures/mastodon-schema-*.sql):
 * bigint columns (ids, `*_file_size` declared bigint) are strings, integer columns are numbers,
 * SQL NULL is null, timestamps are Date objects, and a column the era does not have is absent.
 *
 * Overrides replace columns; an override whose value is `undefined` removes the column (used to
 * model a row from an older schema, e.g. before the 3.1.4 `*_storage_schema_version` columns).
 */

import type { Row } from '../../src/mastodon/types.ts';

export type Era = '3.1' | '3.5' | '4.0' | '4.6';

type Overrides = Record<string, unknown>;

const T = new Date('2024-01-02T03:04:05Z');

function apply(base: Record<string, unknown>, overrides: Overrides): Row {
  const row: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete row[name];
    else row[name] = value;
  }
  return row;
}

function atLeast(era: Era, min: Era): boolean {
  const order: Era[] = ['3.1', '3.5', '4.0', '4.6'];
  return order.indexOf(era) >= order.indexOf(min);
}

/** media_attachments: thumbnail_* from 3.2 (present in the 3.5 fixture), thumbnail_storage_schema_version from 4.6. */
export function mediaRow(overrides: Overrides = {}, era: Era = '4.6'): Row {
  const base: Record<string, unknown> = {
    id: '1',
    status_id: null,
    account_id: '1',
    file_file_name: null,
    file_content_type: null,
    file_file_size: null,
    file_updated_at: T,
    file_meta: null,
    file_storage_schema_version: null,
    remote_url: '',
    created_at: T,
    updated_at: T,
    shortcode: null,
    type: 0,
    description: null,
    scheduled_status_id: null,
    blurhash: null,
    processing: 2,
  };
  if (atLeast(era, '3.5')) {
    Object.assign(base, {
      thumbnail_file_name: null,
      thumbnail_content_type: null,
      thumbnail_file_size: null,
      thumbnail_updated_at: null,
      thumbnail_remote_url: null,
    });
  }
  if (atLeast(era, '4.6')) base['thumbnail_storage_schema_version'] = null;
  return apply(base, overrides);
}

/** accounts: the 3.1 schema still has the OStatus `remote_url` column (not used for `local?`). */
export function accountRow(overrides: Overrides = {}, era: Era = '4.6'): Row {
  const base: Record<string, unknown> = {
    id: '1',
    username: 'alice',
    domain: null,
    created_at: T,
    updated_at: T,
    display_name: '',
    uri: '',
    url: null,
    avatar_file_name: null,
    avatar_content_type: null,
    avatar_file_size: null,
    avatar_updated_at: null,
    avatar_remote_url: null,
    avatar_storage_schema_version: null,
    header_file_name: null,
    header_content_type: null,
    header_file_size: null,
    header_updated_at: null,
    header_remote_url: '',
    header_storage_schema_version: null,
    locked: false,
    memorial: false,
  };
  if (era === '3.1') base['remote_url'] = '';
  if (atLeast(era, '4.6')) {
    base['avatar_description'] = '';
    base['header_description'] = '';
  }
  return apply(base, overrides);
}

export function customEmojiRow(overrides: Overrides = {}, _era: Era = '4.6'): Row {
  return apply(
    {
      id: '1',
      shortcode: 'blob',
      domain: null,
      image_file_name: null,
      image_content_type: null,
      image_file_size: null,
      image_updated_at: T,
      image_remote_url: null,
      image_storage_schema_version: null,
      created_at: T,
      updated_at: T,
      disabled: false,
      uri: null,
      visible_in_picker: true,
      category_id: null,
    },
    overrides,
  );
}

export function previewCardRow(overrides: Overrides = {}, era: Era = '4.6'): Row {
  const base: Record<string, unknown> = {
    id: '1',
    url: 'https://example.com/article',
    title: 'An article',
    description: '',
    image_file_name: null,
    image_content_type: null,
    image_file_size: null,
    image_updated_at: T,
    image_storage_schema_version: null,
    type: 0,
    html: '',
    author_name: '',
    author_url: '',
    provider_name: '',
    provider_url: '',
    width: 400,
    height: 300,
    embed_url: '',
    created_at: T,
    updated_at: T,
  };
  if (atLeast(era, '4.6')) base['image_description'] = '';
  return apply(base, overrides);
}

/** preview_card_providers (3.5+): icon_file_size is bigint, so node-postgres returns a string. */
export function previewCardProviderRow(overrides: Overrides = {}, _era: Era = '4.6'): Row {
  return apply(
    {
      id: '1',
      domain: 'example.com',
      icon_file_name: null,
      icon_content_type: null,
      icon_file_size: null,
      icon_updated_at: T,
      trendable: null,
      reviewed_at: null,
      requested_review_at: null,
      created_at: T,
      updated_at: T,
    },
    overrides,
  );
}

/** site_uploads: blurhash from 4.0. */
export function siteUploadRow(overrides: Overrides = {}, era: Era = '4.6'): Row {
  const base: Record<string, unknown> = {
    id: '1',
    var: 'thumbnail',
    file_file_name: null,
    file_content_type: null,
    file_file_size: null,
    file_updated_at: T,
    meta: null,
    created_at: T,
    updated_at: T,
  };
  if (atLeast(era, '4.0')) base['blurhash'] = null;
  return apply(base, overrides);
}

/** backups: dump_file_size is bigint, so node-postgres returns a string. */
export function backupRow(overrides: Overrides = {}, _era: Era = '4.6'): Row {
  return apply(
    {
      id: '1',
      user_id: '1',
      dump_file_name: null,
      dump_content_type: null,
      dump_updated_at: T,
      processed: true,
      created_at: T,
      updated_at: T,
      dump_file_size: null,
    },
    overrides,
  );
}

/** imports (dropped in 4.4): data_file_size is integer. */
export function importRow(overrides: Overrides = {}, _era: Era = '4.0'): Row {
  return apply(
    {
      id: '1',
      type: 0,
      approved: true,
      created_at: T,
      updated_at: T,
      data_file_name: null,
      data_content_type: null,
      data_file_size: null,
      data_updated_at: T,
      account_id: '1',
      overwrite: false,
    },
    overrides,
  );
}
