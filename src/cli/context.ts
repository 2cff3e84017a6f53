/**
 * What every command starts from: the config file, a logger that redacts the file's secrets,
 * and a clean way to end (close what was opened, exit with the right code, no stack trace).
 */
import {
  type ConfigFile,
  chooseConfigPath,
  DOCKER_ENV,
  getField,
  readConfigFile,
  secretValues,
  unknownSections,
} from '../config/load.ts';
import { CELERY } from '../config/schema.ts';
import { createLogger, type LogFormat, type Logger, makeRedactor } from '../log.ts';

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface CommandContext {
  file: ConfigFile;
  log: Logger;
  redact: (text: string) => string;
}

export function loadContext(options: GlobalOptions): CommandContext {
  const choice = chooseConfigPath(options.config);
  const file = readConfigFile(choice.path);
  const secrets = secretValues(file);
  const level =
    options.logLevel ?? (file.sections.has(CELERY.name) ? getField(file, CELERY, 'log_level') : 'info');
  const format: LogFormat = options.logFormat === 'json' ? 'json' : 'text';
  const log = createLogger({ level, format, secrets });
  // In Docker the file is picked by what exists in the mounted private/: say which one.
  if (process.env[DOCKER_ENV] === '1') log.info(`config: ${file.displayPath} (${choice.reason})`);
  for (const name of unknownSections(file))
    log.warn(`${file.displayPath}: unknown section [${name}] ignored`);
  return { file, log, redact: makeRedactor(secrets) };
}

/** Things to close when the command ends, however it ends (including Ctrl-C). */
export class Cleanup {
  private readonly tasks: Array<() => Promise<void>> = [];
  add(task: () => Promise<void>): void {
    this.tasks.unshift(task);
  }
  async run(): Promise<void> {
    for (const task of this.tasks.splice(0)) await task().catch(() => {});
  }
}
