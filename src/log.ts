/**
 * Logging to stderr (stdout is for data: `plan` pipes keys into other tools). pino underneath;
 * `text` format renders one readable line per record, `json` keeps pino's JSON. Every line
 * passes through the redactor, so a secret that slipped into a message is still never shown.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'text' | 'json';

/** Replaces every occurrence of the given secrets (and URL passwords) with `***`. */
export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret containing another is replaced whole. Very short values are
  // skipped: replacing every "a" would make output unreadable and protects nothing.
  const values = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]+@/gi, '$1***@');
    for (const secret of values) {
      if (out.includes(secret)) out = out.split(secret).join('***');
    }
    return out;
  };
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function textLine(json: string): string {
  try {
    const record = JSON.parse(json) as Record<string, unknown>;
    const level = LEVEL_NAMES[Number(record['level'])] ?? 'info';
    const fields = Object.entries(record)
      .filter(([key]) => !OMIT.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
    const time = new Date(Number(record['time'] ?? Date.now())).toISOString().slice(11, 19);
    return `${time} ${level.padEnd(5)} ${String(record['msg'] ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
  } catch {
    return json;
  }
}

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  secrets?: readonly string[];
  /** Where lines go; default stderr. */
  write?: (line: string) => void;
}

/** Maps the original tool's Celery/Python level names onto pino's. */
export function pinoLevel(level: string): string {
  const name = level.toLowerCase();
  if (name === 'warning') return 'warn';
  if (name === 'critical') return 'fatal';
  return ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(name) ? name : 'info';
}

export function createLogger(options: LoggerOptions): Logger {
  const redact = makeRedactor(options.secrets ?? []);
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const json = chunk.toString('utf8');
      write(redact(options.format === 'json' ? json : textLine(json)));
      done();
    },
  });
  return pino({ level: pinoLevel(options.level), base: null }, destination);
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
