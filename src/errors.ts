/**
 * Errors that reach the user as one clear line (never a stack trace). Everything the CLI
 * cannot explain is a bug and is reported as such.
 *
 * Exit codes: 2 for configuration and usage errors, 1 for runtime failures (a service
 * unreachable, a copy failed).
 */

/** A problem the user can fix: bad config, bad flag, unreachable service. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** A configuration or usage problem (exit code 2). */
export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

/** Something outside the tool failed: the database, the SSH server (exit code 1). */
export class ServiceError extends UserError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'ServiceError';
  }
}
