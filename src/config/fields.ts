/**
 * Field builders for config sections. Each field is a zod schema (the only home of its
 * default, type and message) plus the metadata that generates the sample INI and the list of
 * secrets to redact. Values arrive as raw strings from the INI file (or undefined if absent).
 */
import { z } from 'zod/v3';

export interface FieldMeta {
  help: string;
  /** Shown in the sample INI; defaults to the default value. */
  example?: string;
  /** Never printed: not in errors, logs, pages. */
  secret?: boolean;
  /** The default, as written in the INI (undefined: required, or no default). */
  defaultText?: string;
  required?: boolean;
  /** Written as a comment in the sample INI (an optional key whose example must not take effect). */
  commented?: boolean;
}

export interface Field<T> {
  schema: z.ZodType<T, z.ZodTypeDef, string | undefined>;
  meta: FieldMeta;
}

type Check<T> = (raw: string) => { ok: true; value: T } | { ok: false; message: string };

/** What an error message may show of a value: nothing for secrets, a bounded, printable excerpt else. */
export function describeValue(raw: string, secret: boolean | undefined): string {
  if (secret) return '(hidden)';
  // A URL's password is a secret even in a key that is not (a broker URL, an endpoint).
  const printable = raw
    .replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/g, '$1***@')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return JSON.stringify(printable.length > 60 ? `${printable.slice(0, 57)}...` : printable);
}

function makeField<T>(
  check: Check<T>,
  meta: FieldMeta & { default?: T; optional?: boolean },
  /** Non-text fields treat `key =` (empty) as absent, as configparser users expect. */
  emptyMeansAbsent = true,
): Field<T> {
  const schema = z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined || (raw === '' && emptyMeansAbsent)) {
        if (meta.default !== undefined) return meta.default;
        if (meta.optional) return undefined as T;
        ctx.addIssue({ code: 'custom', message: 'missing (this key is required)' });
        return z.NEVER;
      }
      const result = check(raw);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: `${result.message}, got ${describeValue(raw, meta.secret)}` });
      return z.NEVER;
    });
  return { schema: schema as unknown as z.ZodType<T, z.ZodTypeDef, string | undefined>, meta };
}

interface Common<T> {
  help: string;
  commented?: boolean;
  default?: T;
  example?: string;
  secret?: boolean;
}

/** Free text; empty allowed. Without a default, the key must be present. */
export function text(opts: Common<string> & { optional?: false }): Field<string>;
export function text(opts: Common<string> & { optional: true }): Field<string | undefined>;
export function text(opts: Common<string> & { optional?: boolean }): Field<string | undefined> {
  const maxLength = 4096;
  return makeField<string | undefined>(
    (raw) =>
      raw.length > maxLength
        ? { ok: false, message: `expected at most ${maxLength} characters` }
        : /[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)
          ? { ok: false, message: 'contains control characters' }
          : { ok: true, value: raw },
    {
      ...opts,
      defaultText: opts.default,
      required: opts.default === undefined && !opts.optional,
    },
    false,
  );
}

export function integer(opts: Common<number> & { min: number; max: number; optional?: false }): Field<number>;
export function integer(
  opts: Common<number> & { min: number; max: number; optional: true },
): Field<number | undefined>;
export function integer(
  opts: Common<number> & { min: number; max: number; optional?: boolean },
): Field<number | undefined> {
  return makeField<number | undefined>(
    (raw) => {
      const range = `expected a whole number from ${opts.min} to ${opts.max}`;
      if (!/^[+-]?\d{1,15}$/.test(raw)) return { ok: false, message: range };
      const value = Number(raw);
      return value < opts.min || value > opts.max ? { ok: false, message: range } : { ok: true, value };
    },
    {
      ...opts,
      defaultText: opts.default === undefined ? undefined : String(opts.default),
      required: opts.default === undefined && !opts.optional,
    },
  );
}

/** A whole number in range, or the word `auto` (the tool chooses: concurrency). */
export function integerOrAuto(
  opts: Common<number | 'auto'> & { min: number; max: number; optional: true },
): Field<number | 'auto' | undefined> {
  const whole = integer({ ...opts, default: undefined, optional: true });
  return makeField<number | 'auto' | undefined>(
    (raw) => {
      if (raw.trim().toLowerCase() === 'auto') return { ok: true, value: 'auto' };
      const parsed = whole.schema.safeParse(raw);
      return parsed.success
        ? { ok: true, value: parsed.data }
        : { ok: false, message: `expected auto or a whole number from ${opts.min} to ${opts.max}` };
    },
    { ...opts, required: false },
  );
}

const TRUE_WORDS = new Set(['1', 'yes', 'true', 'on']);
const FALSE_WORDS = new Set(['0', 'no', 'false', 'off']);

/** configparser's getboolean() words. */
export function boolean(opts: Common<boolean> & { default: boolean }): Field<boolean> {
  return makeField<boolean>(
    (raw) => {
      const word = raw.toLowerCase();
      if (TRUE_WORDS.has(word)) return { ok: true, value: true };
      if (FALSE_WORDS.has(word)) return { ok: true, value: false };
      return { ok: false, message: 'expected true or false' };
    },
    { ...opts, defaultText: String(opts.default) },
  );
}

export function choice<const C extends string>(
  values: readonly C[],
  opts: Common<C> & { default: C },
): Field<C> {
  return makeField<C>(
    (raw) => {
      const value = raw.toLowerCase() as C;
      return values.includes(value)
        ? { ok: true, value }
        : { ok: false, message: `expected one of ${values.join(', ')}` };
    },
    { ...opts, defaultText: opts.default },
  );
}

/** A URL with one of the given schemes. */
export function url(
  schemes: readonly string[],
  opts: Common<string> & { optional?: boolean },
): Field<string | undefined> {
  return makeField<string | undefined>(
    (raw) => {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        return { ok: false, message: `expected a URL such as ${schemes[0]}://host:port` };
      }
      const scheme = parsed.protocol.replace(/:$/, '');
      return schemes.includes(scheme)
        ? { ok: true, value: raw }
        : { ok: false, message: `expected a ${schemes.join(' or ')} URL` };
    },
    { ...opts, defaultText: opts.default, required: opts.default === undefined && !opts.optional },
  );
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** A byte size: `15MB`, `8m`, `65536`. */
export function byteSize(
  opts: Common<number> & { min: number; max: number; defaultText: string },
): Field<number> {
  return makeField<number>(
    (raw) => {
      const match = /^(\d{1,12})\s*([a-z]*)$/i.exec(raw.trim());
      const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
      const value = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
      if (!(value >= opts.min && value <= opts.max)) {
        return {
          ok: false,
          message: `expected a size from ${opts.min} bytes to ${opts.max / 1024 ** 3} GB, such as 15MB`,
        };
      }
      return { ok: true, value };
    },
    { ...opts },
  );
}
