/**
 * Renders `private/config.sample.ini` from the schema, so the sample documents every key with
 * its real default and can never drift from what the loader accepts.
 * Regenerate with `npm run gen:sample`; a test fails when the committed file is stale.
 */
import type { Field } from './fields.ts';
import { SECTIONS } from './schema.ts';

const HEADER = `; mastodon-s3-sync configuration.
; Copy to private/config.ini (in Docker: private/config.docker.ini, read first when present),
; or point --config / CONFIG_FILE / CONFIG_FILE_NAME at a copy.
; The original mastodon-s3-sync-tool's config.ini works unchanged: its keys keep their meaning,
; and every other key below is optional with the default shown.
; Values are taken verbatim (no quotes, no inline comments), as Python's configparser does;
; write %% for a literal % (configparser interpolation: %(key)s is another key's value).
; Keys marked "secret" are never printed in output, logs or pages.
`;

function wrap(text: string, width = 96): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function renderSample(): string {
  let out = HEADER;
  for (const def of SECTIONS) {
    out += `\n; ${def.help}\n[${def.name}]\n`;
    for (const [key, field] of Object.entries(def.fields as Record<string, Field<unknown>>)) {
      const { help, secret, required, defaultText, example, commented } = field.meta;
      const notes = [
        required
          ? 'required'
          : defaultText !== undefined
            ? `default: ${defaultText === '' ? '(empty)' : defaultText}`
            : 'optional',
      ];
      if (secret) notes.push('secret');
      for (const line of wrap(`${help} (${notes.join('; ')})`)) out += `; ${line}\n`;
      out += `${commented ? '; ' : ''}${key} = ${example ?? defaultText ?? ''}`.trimEnd() + '\n';
    }
  }
  return out;
}
