/**
 * Which Mastodon version wrote a database, told from `schema_migrations` (spec §7), and the
 * rules of that version that differ from the newest (types.ts `MastodonRules`).
 *
 * Every release's db/schema.rb names its newest migration (`define(version: …)`); a database
 * whose newest applied migration is V was written by a release whose schema version is V, or
 * by a development build between two releases. Several releases can share one schema version
 * (patch releases without migrations): the answer is a range, and a rule whose boundary falls
 * inside it takes the safer side (private over public) or, for key names, the newest rule.
 * Pure: no I/O.
 */
import { type MastodonRules, NEWEST_RULES } from './types.ts';

/** A release and the schema version its db/schema.rb declares (digits only). */
interface Release {
  version: string;
  schema: string;
}

/**
 * Releases whose schema version differs from the one before, oldest first; patch releases
 * that added no migration share the entry of the release before them (`through`).
 * Read from each release's db/schema.rb (release commits of mastodon/mastodon and its stable
 * branches; 4.1.3+ and 4.2.4+ inferred from their changelogs, which add no migration).
 * 4.3.0's rc.1 (20240916190140) sits between 4.2.x and 4.3.0: a "development build" range.
 */
export const RELEASES: readonly (Release & { through?: string })[] = [
  { version: '3.0.0', schema: '20191001213028' },
  { version: '3.0.1', schema: '20191007013357', through: '3.0.2' },
  { version: '3.1.0', schema: '20200126203551', through: '3.1.2' },
  { version: '3.1.3', schema: '20200312185443' },
  { version: '3.1.4', schema: '20200510110808', through: '3.1.5' },
  { version: '3.2.0', schema: '20200628133322', through: '3.2.2' },
  { version: '3.3.0', schema: '20201218054746', through: '3.3.3' },
  { version: '3.4.0', schema: '20210507001928' },
  { version: '3.4.1', schema: '20210526193025' },
  { version: '3.4.2', schema: '20210630000137', through: '3.4.x' },
  { version: '3.5.0', schema: '20220316233212', through: '3.5.1' },
  { version: '3.5.2', schema: '20220429101850', through: '3.5.x' },
  { version: '4.0.0', schema: '20221104133904', through: '4.0.x' },
  // 4.1.1 (backups private) added no migration: 4.1.0 and 4.1.1 cannot be told apart.
  { version: '4.1.0', schema: '20221206114142', through: '4.1.x' },
  { version: '4.2.0', schema: '20230907150100', through: '4.2.x' },
  { version: '4.3.0', schema: '20241007071624', through: '4.3.x' },
  { version: '4.4.0', schema: '20250627132728', through: '4.4.x' },
  { version: '4.5.0', schema: '20251023210145', through: '4.5.x' },
  { version: '4.6.0', schema: '20260611150940', through: '4.6.x' },
];

export interface MastodonVersion {
  /** The newest applied migration, or null when `schema_migrations` could not be read. */
  schemaVersion: string | null;
  /** Human range: "4.0.2–4.0.x", "newer than 4.6.x", "unknown". */
  range: string;
  /** Oldest and newest release the database can come from (null: unknown / open end). */
  oldest: string | null;
  newest: string | null;
  rules: MastodonRules;
  /** Set when the newest rules are applied for want of knowledge. */
  warning?: string;
}

/** Compares dotted versions ('4.1.1' < '4.10.0'); an 'x' part is the largest. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split('.').map((p) => (p === 'x' ? Number.POSITIVE_INFINITY : Number(p)));
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * The rules for a database written by a release in [oldest, newest] (null newest: open).
 * - backups: private from 4.1.1; a range reaching 4.1.1 or later is private (unsure means private).
 * - AVIF `small`: JPEG from 4.2.0; AVIF only when the whole range is 4.0–4.1 (a key name, not a
 *   privacy question: otherwise the newest rule).
 */
export function rulesFor(oldest: string | null, newest: string | null): MastodonRules {
  const newestOrOpen = newest ?? '999';
  const backupsPrivate = compareVersions(newestOrOpen, '4.1.1') >= 0;
  const avifSmallIsJpeg = !(
    oldest !== null &&
    compareVersions(oldest, '4.0.0') >= 0 &&
    compareVersions(newestOrOpen, '4.2.0') < 0
  );
  return { backupsPrivate, avifSmallIsJpeg };
}

/** Where a schema version falls among the known releases. */
export function detectVersion(schemaVersion: string | null): MastodonVersion {
  const digits = schemaVersion?.replace(/_/g, '') ?? '';
  if (!/^\d{14}$/.test(digits)) {
    return {
      schemaVersion,
      range: 'unknown',
      oldest: null,
      newest: null,
      rules: NEWEST_RULES,
      warning:
        'the Mastodon version could not be told (no readable schema_migrations): applying the newest rules',
    };
  }
  let index = -1;
  RELEASES.forEach((release, i) => {
    if (release.schema <= digits) index = i;
  });
  if (index < 0) {
    const first = RELEASES[0]!;
    return {
      schemaVersion: digits,
      range: `older than ${first.version}`,
      oldest: null,
      newest: first.version,
      rules: rulesFor('0', first.version),
    };
  }
  const release = RELEASES[index]!;
  const next = RELEASES[index + 1];
  const exact = release.schema === digits;
  const newest = exact ? (release.through ?? release.version) : next ? next.version : null;
  const oldest = release.version;
  if (next === undefined && !exact) {
    return {
      schemaVersion: digits,
      range: `newer than ${release.through ?? release.version}`,
      oldest,
      newest: null,
      rules: NEWEST_RULES,
      warning: `schema version ${digits} is newer than any Mastodon release this tool knows (${release.through ?? release.version}): applying the newest rules`,
    };
  }
  const range = exact
    ? newest === oldest
      ? oldest
      : `${oldest}–${newest}`
    : `between ${release.through ?? oldest} and ${newest} (a development build)`;
  return { schemaVersion: digits, range, oldest, newest, rules: rulesFor(oldest, newest) };
}
