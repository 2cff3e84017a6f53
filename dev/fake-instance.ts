/**
 * A fake Mastodon instance for the demo, the sync tests and the benchmark: rows for every
 * table (local and remote, old sequence ids and snowflakes, storage-schema versions NULL and
 * 1) shaped like the 4.6 schema, and the bytes of every object they reference — real image,
 * video and audio files from dev/samples/ (made with ffmpeg), or sized filler for benchmarks.
 *
 * Deterministic for a given seed, so tests can rebuild what they expect.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keysForRow } from '../src/mastodon/catalog.ts';
import type { CatalogKey, TableName } from '../src/mastodon/types.ts';

export type FakeRow = Record<string, string | number | null>;
export type FakeRows = Partial<Record<TableName, FakeRow[]>>;

export interface FakeInstanceOptions {
  /** Media rows (the bulk of an instance); the other tables scale with it. */
  media: number;
  seed?: number;
}

/** A tiny deterministic PRNG (mulberry32), so a seed always gives the same instance. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A snowflake id as Mastodon makes them: Unix ms << 16 | sequence. Never a JS number. */
export function snowflake(ms: number, sequence: number): string {
  return ((BigInt(ms) << 16n) | BigInt(sequence & 0xffff)).toString();
}

function hex16(random: () => number): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

const MEDIA_KINDS = [
  { weight: 45, contentType: 'image/jpeg', ext: 'jpeg', type: 0 },
  { weight: 20, contentType: 'image/png', ext: 'png', type: 0 },
  { weight: 6, contentType: 'image/webp', ext: 'webp', type: 0 },
  { weight: 4, contentType: 'image/gif', ext: 'gif', type: 0 },
  { weight: 10, contentType: 'video/mp4', ext: 'mp4', type: 1 }, // gifv
  { weight: 10, contentType: 'video/mp4', ext: 'mp4', type: 2 },
  { weight: 5, contentType: 'audio/mpeg', ext: 'mp3', type: 4 },
] as const;

function pick<T extends { weight: number }>(items: readonly T[], random: () => number): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let r = random() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}

const START_MS = Date.UTC(2022, 10, 1);

function mediaRows(count: number, random: () => number): FakeRow[] {
  const rows: FakeRow[] = [];
  for (let i = 0; i < count; i++) {
    const kind = pick(MEDIA_KINDS, random);
    const remote = random() < 0.55;
    // A few rows from before media ids became snowflakes (3.1.5) keep 8-digit sequence ids.
    const id = i < Math.ceil(count / 20) ? String(21_000_000 + i * 7) : snowflake(START_MS + i * 60_000, i);
    const name = `${hex16(random)}.${kind.ext}`;
    const hasThumbnail = kind.type === 4 || (kind.type === 2 && random() < 0.5);
    rows.push({
      id,
      type: kind.type,
      file_file_name: name,
      file_content_type: kind.contentType,
      file_file_size: null,
      file_storage_schema_version: remote && random() < 0.15 ? null : 1,
      remote_url: remote ? `https://remote.example/media/${name}` : '',
      thumbnail_file_name: hasThumbnail ? `${hex16(random)}.jpeg` : null,
      thumbnail_content_type: hasThumbnail ? 'image/jpeg' : null,
      thumbnail_file_size: null,
      thumbnail_storage_schema_version: hasThumbnail && remote ? 1 : null,
    });
  }
  return rows;
}

function accountRows(count: number, random: () => number): FakeRow[] {
  const rows: FakeRow[] = [{ id: '-99', username: 'mastodon.internal', domain: null }];
  for (let i = 0; i < count; i++) {
    const remote = i % 3 !== 0;
    const gif = random() < 0.1;
    rows.push({
      id: i < 3 ? String(i + 1) : snowflake(START_MS + i * 3_600_000, i),
      username: `user${i}`,
      domain: remote ? `remote${i % 7}.example` : null,
      avatar_file_name: random() < 0.9 ? `${hex16(random)}.${gif ? 'gif' : 'png'}` : null,
      avatar_content_type: gif ? 'image/gif' : 'image/png',
      avatar_file_size: null,
      avatar_storage_schema_version: remote && random() < 0.2 ? null : 1,
      header_file_name: random() < 0.6 ? `${hex16(random)}.jpeg` : null,
      header_content_type: 'image/jpeg',
      header_file_size: null,
      header_storage_schema_version: remote && random() < 0.3 ? null : 1,
    });
  }
  return rows;
}

function simpleRows(
  count: number,
  random: () => number,
  make: (i: number, name: string) => FakeRow,
  ext: string,
): FakeRow[] {
  return Array.from({ length: count }, (_, i) => make(i, `${hex16(random)}.${ext}`));
}

export function fakeInstance(options: FakeInstanceOptions): FakeRows {
  const random = prng(options.seed ?? 1);
  const scale = Math.max(1, Math.round(options.media / 10));
  return {
    media_attachments: mediaRows(options.media, random),
    accounts: accountRows(scale * 2, random),
    custom_emojis: simpleRows(
      scale,
      random,
      (i, name) => ({
        id: String(i + 1),
        shortcode: `emoji${i}`,
        domain: i % 2 ? `remote${i % 5}.example` : null,
        image_file_name: name,
        image_content_type: 'image/png',
        image_file_size: null,
        image_storage_schema_version: i % 4 === 3 ? null : 1,
      }),
      'png',
    ),
    preview_cards: simpleRows(
      scale,
      random,
      (i, name) => ({
        id: String(i + 1),
        url: `https://news.example/${i}`,
        image_file_name: name,
        image_content_type: 'image/jpeg',
        image_file_size: null,
        image_storage_schema_version: i % 5 === 4 ? null : 1,
      }),
      'jpeg',
    ),
    preview_card_providers: simpleRows(
      3,
      random,
      (i, name) => ({
        id: String(i + 1),
        domain: `news${i}.example`,
        icon_file_name: name,
        icon_content_type: 'image/png',
        icon_file_size: null,
      }),
      'png',
    ),
    site_uploads: [
      {
        id: '1',
        var: 'thumbnail',
        file_file_name: `${hex16(random)}.png`,
        file_content_type: 'image/png',
        file_file_size: null,
        blurhash: 'LEHV6nWB2yk8',
      },
      {
        id: '2',
        var: 'mascot',
        file_file_name: `${hex16(random)}.png`,
        file_content_type: 'image/png',
        file_file_size: null,
        blurhash: null,
      },
      {
        id: '3',
        var: 'favicon',
        file_file_name: `${hex16(random)}.png`,
        file_content_type: 'image/png',
        file_file_size: null,
        blurhash: null,
      },
    ],
    backups: [1, 2].map((i) => ({
      id: String(i),
      dump_file_name: `archive-2026110${i}120000-${hex16(random)}${hex16(random)}.zip`,
      dump_content_type: 'application/zip',
      dump_file_size: null,
    })),
  };
}

/** Every key the rows reference, per the catalog (the bytes to seed at the source). */
export function referencedKeys(rows: FakeRows): CatalogKey[] {
  const keys: CatalogKey[] = [];
  for (const [table, tableRows] of Object.entries(rows) as Array<[TableName, FakeRow[]]>) {
    for (const row of tableRows) keys.push(...keysForRow(table, row));
  }
  return keys;
}

const SAMPLES = join(import.meta.dirname, 'samples');
const sampleCache = new Map<string, Buffer>();

function sample(name: string): Buffer {
  let data = sampleCache.get(name);
  if (!data) {
    data = readFileSync(join(SAMPLES, name));
    sampleCache.set(name, data);
  }
  return data;
}

/** An empty but valid ZIP archive (end-of-central-directory record only). */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/** Real bytes for a key, by the content type of its style. */
export function sampleBytes(key: CatalogKey): Buffer {
  switch (key.contentType) {
    case 'image/jpeg':
      return sample('sample.jpg');
    case 'image/png':
      return sample('sample.png');
    case 'image/gif':
      return sample('sample.gif');
    case 'image/webp':
      return sample('sample.webp');
    case 'video/mp4':
      return sample('sample.mp4');
    case 'audio/mpeg':
      return sample('sample.mp3');
    case 'application/zip':
      return EMPTY_ZIP;
    default:
      return Buffer.from(`placeholder for ${key.key}\n`);
  }
}

/** Columns every table needs (NOT NULL without default in the fixtures). */
const TIMESTAMPS = ['created_at', 'updated_at'];

/** INSERT statements (with parameters) for the rows, in chunks, for any pg-compatible client. */
export function insertStatements(rows: FakeRows, chunk = 500): Array<{ text: string; values: unknown[] }> {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  for (const [table, tableRows] of Object.entries(rows) as Array<[TableName, FakeRow[]]>) {
    for (let start = 0; start < tableRows.length; start += chunk) {
      const part = tableRows.slice(start, start + chunk);
      const columns = [...new Set(part.flatMap((row) => Object.keys(row)))];
      const values: unknown[] = [];
      const tuples = part.map((row) => {
        const placeholders = columns.map((column) => {
          values.push(row[column] ?? null);
          return `$${values.length}`;
        });
        return `(${[...placeholders, 'now()', 'now()'].join(', ')})`;
      });
      statements.push({
        text: `INSERT INTO ${table} (${[...columns, ...TIMESTAMPS].join(', ')}) VALUES ${tuples.join(', ')}`,
        values,
      });
    }
  }
  return statements;
}
