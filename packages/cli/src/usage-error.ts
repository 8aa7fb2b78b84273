/**
 * A mistake the user can fix (bad flag, missing secret, unreadable config). The CLI prints its
 * message as one line on stderr, with no stack trace, and exits with `exitCode`.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode: number;
  /** Every problem when there are several (a policy file): printed one per line under the message. */
  readonly details: readonly string[];

  constructor(
    message: string,
    options?: { exitCode?: number; cause?: unknown; details?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options?.exitCode ?? 2;
    this.details = options?.details ?? [];
  }
}

/** Exit codes, documented in docs/cli.md. */
export const ExitCode = {
  OK: 0,
  /** Runtime failure: the hub refused the agent's token, the port is taken. */
  FAILURE: 1,
  /** The user's input is wrong: flag, env var, config file. */
  USAGE: 2,
} as const;
