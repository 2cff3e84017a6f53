/**
 * Reads an INI file the way the original tool's Python `configparser` does, because admins'
 * existing files must mean the same thing here. We do not use the `ini` package: it strips
 * inline `;`/`#` comments (truncating passwords such as `abc#123`), unquotes values, turns
 * `true`/`null` into non-strings, nests dotted section names and silently merges duplicates.
 *
 * configparser rules kept: `[section]` headers; `key = value` or `key: value`; keys are
 * case-insensitive (lower-cased); whole-line comments start with `#` or `;`; values keep
 * everything after the delimiter, trimmed; indented lines continue the previous value;
 * a duplicate section or key is an error (strict mode); `%%` and `%(key)s` interpolation.
 */

export type IniSections = Map<string, Map<string, string>>;

export class IniSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'IniSyntaxError';
  }
}

const SECTION = /^\[([^\]]*)\]\s*$/;
const COMMENT = /^\s*[#;]/;

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let section: Map<string, string> | null = null;
  let sectionName = '';
  let lastKey: string | null = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (raw.includes('\0')) throw new IniSyntaxError(lineNo, 'contains a NUL byte');
    if (raw.trim() === '' || COMMENT.test(raw)) {
      if (raw.trim() === '') lastKey = null;
      return;
    }
    if (/^\s/.test(raw) && section !== null && lastKey !== null) {
      section.set(lastKey, `${section.get(lastKey)}\n${raw.trim()}`);
      return;
    }
    const header = SECTION.exec(raw.trim());
    if (header) {
      sectionName = header[1]!.trim();
      if (sectionName === '') throw new IniSyntaxError(lineNo, 'empty section name');
      if (sections.has(sectionName))
        throw new IniSyntaxError(lineNo, `section [${sectionName}] appears twice`);
      section = new Map();
      sections.set(sectionName, section);
      lastKey = null;
      return;
    }
    const delimiter = raw.search(/[=:]/);
    if (delimiter <= 0) throw new IniSyntaxError(lineNo, 'expected "[section]" or "key = value"');
    if (section === null) throw new IniSyntaxError(lineNo, 'a key appears before any [section]');
    const key = raw.slice(0, delimiter).trim().toLowerCase();
    if (key === '') throw new IniSyntaxError(lineNo, 'empty key name');
    if (section.has(key)) throw new IniSyntaxError(lineNo, `key "${key}" appears twice in [${sectionName}]`);
    section.set(key, raw.slice(delimiter + 1).trim());
    lastKey = key;
  });
  for (const values of sections.values()) {
    for (const [key, value] of values) values.set(key, interpolate(value, values));
  }
  return sections;
}

/**
 * configparser's default BasicInterpolation, so a value means what it meant to the original
 * tool: `%%` is a literal `%` (a password `pa%%ss` is `pa%ss`), and `%(key)s` is another key
 * of the same section. A lone `%` (an error in Python) is kept as it is.
 */
export function interpolate(value: string, section: ReadonlyMap<string, string>, depth = 0): string {
  if (!value.includes('%')) return value;
  return value.replace(/%%|%\(([^)]*)\)s/g, (match, name: string | undefined) => {
    if (match === '%%') return '%';
    const referenced = section.get(name!.toLowerCase());
    if (referenced === undefined || depth >= 10) return match;
    return interpolate(referenced, section, depth + 1);
  });
}
