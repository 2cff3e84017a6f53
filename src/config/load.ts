/**
 * Finding, reading and validating the config file. `loadConfig()` returns a value that is
 * passed to constructors; no other module reads files, env or argv for configuration.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Field } from './fields.ts';
import { type IniSections, IniSyntaxError, parseIni } from './ini-file.ts';
import { SECTIONS, type SectionDef } from './schema.ts';

const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigFile {
  /** Absolute path. */
  path: string;
  /** The path as the user gave it (for messages). */
  displayPath: string;
  sections: IniSections;
}

/** Set in the Docker image: the original tool's containers read `private/config.docker.ini`. */
export const DOCKER_ENV = 'MASTODON_S3_SYNC_DOCKER';
export const DOCKER_CONFIG_NAME = 'config.docker.ini';

export interface ConfigChoice {
  path: string;
  /** Why this file: for the first log line in Docker, where the choice is not obvious. */
  reason: string;
}

/**
 * The config path: `--config FILE`, else env CONFIG_FILE (a path), else
 * `private/$CONFIG_FILE_NAME` (the original tool's variable), else — in Docker, as the
 * original tool's compose file did — `private/config.docker.ini` when it exists, else
 * `private/config.ini`.
 */
export function chooseConfigPath(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): ConfigChoice {
  if (flag) return { path: flag, reason: '--config' };
  if (env['CONFIG_FILE']) return { path: env['CONFIG_FILE'], reason: 'CONFIG_FILE' };
  if (env['CONFIG_FILE_NAME'])
    return { path: join('private', env['CONFIG_FILE_NAME']), reason: 'CONFIG_FILE_NAME' };
  const dockerPath = join('private', DOCKER_CONFIG_NAME);
  if (env[DOCKER_ENV] === '1' && exists(dockerPath))
    return { path: dockerPath, reason: `Docker: ${DOCKER_CONFIG_NAME} exists` };
  const reason = env[DOCKER_ENV] === '1' ? `Docker: no ${DOCKER_CONFIG_NAME}` : 'default';
  return { path: join('private', 'config.ini'), reason };
}

export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return chooseConfigPath(flag, env).path;
}

export function readConfigFile(displayPath: string, cwd = process.cwd()): ConfigFile {
  const path = resolve(cwd, displayPath);
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new ConfigError(`${displayPath}: not a file`);
    if (stats.size > MAX_CONFIG_BYTES)
      throw new ConfigError(`${displayPath}: larger than 1 MB, not a config file`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(
        `${displayPath}: config file not found (copy private/config.sample.ini to private/config.ini, or pass --config FILE)`,
      );
    }
    throw new ConfigError(`${displayPath}: cannot read config file (${code ?? 'error'})`);
  }
  try {
    return { path, displayPath, sections: parseIni(text) };
  } catch (error) {
    if (error instanceof IniSyntaxError)
      throw new ConfigError(`${displayPath}:${error.line}: ${error.message}`);
    throw error;
  }
}

type AnySection = SectionDef<Record<string, Field<unknown>>>;
export type SectionOf<S extends AnySection> =
  S extends SectionDef<infer F> ? { [K in keyof F]: F[K] extends Field<infer T> ? T : never } : never;

/** An error naming file, section and key; the message never contains a secret value. */
export function keyError(file: ConfigFile, section: string, key: string, message: string): ConfigError {
  return new ConfigError(`${file.displayPath}: [${section}] ${key}: ${message}`);
}

/**
 * Validates one section. `required`: a missing section is an error; otherwise every key takes
 * its default.
 */
export function getSection<S extends AnySection>(file: ConfigFile, def: S, required: boolean): SectionOf<S> {
  const raw = file.sections.get(def.name);
  if (!raw && required) throw new ConfigError(`${file.displayPath}: section [${def.name}] is missing`);
  const result = def.schema.safeParse(Object.fromEntries(raw ?? []));
  if (result.success) return result.data as SectionOf<S>;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    const known = Object.keys(def.fields).join(', ');
    throw keyError(file, def.name, key, `unknown key (known keys: ${known})`);
  }
  throw keyError(file, def.name, String(issue.path[0] ?? '?'), issue.message);
}

/** Sections in the file that this tool does not know (reported as warnings, not errors). */
export function unknownSections(file: ConfigFile): string[] {
  const known = new Set<string>(SECTIONS.map((s) => s.name));
  return [...file.sections.keys()].filter((name) => !known.has(name));
}

/** The password inside a URL (`redis://:pw@host`), as written and decoded. */
function urlPassword(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  try {
    const { password } = new URL(value);
    return password ? [...new Set([password, decodeURIComponent(password)])] : [];
  } catch {
    return [];
  }
}

/** Every non-empty secret value in the file, for redacting output as a last line of defence. */
export function secretValues(file: ConfigFile): string[] {
  const secrets: string[] = [];
  for (const def of SECTIONS) {
    const raw = file.sections.get(def.name);
    if (!raw) continue;
    for (const [key, field] of Object.entries(def.fields as Record<string, Field<unknown>>)) {
      const value = raw.get(key);
      if (field.meta.secret && value) secrets.push(value);
      else if (value) secrets.push(...urlPassword(value));
    }
  }
  return secrets;
}

/** A path from the config, relative to the config file's directory (as the original's private/). */
export function configRelativePath(file: ConfigFile, value: string): string {
  return isAbsolute(value) ? value : resolve(dirname(file.path), value);
}

/**
 * One key of a section, validated on its own: for a command that needs only that key of a
 * section it does not otherwise use (plan reads [s3.source] key_prefix).
 */
export function getField<S extends AnySection, K extends keyof SectionOf<S> & string>(
  file: ConfigFile,
  def: S,
  key: K,
): SectionOf<S>[K] {
  const field = (def.fields as Record<string, Field<unknown>>)[key]!;
  const result = field.schema.safeParse(file.sections.get(def.name)?.get(key));
  if (result.success) return result.data as SectionOf<S>[K];
  throw keyError(file, def.name, key, result.error.issues[0]?.message ?? 'invalid value');
}
