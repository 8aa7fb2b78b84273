import { type Logger, pino } from 'pino';
import { UsageError } from './usage-error.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Tokens, secrets and app passwords must never reach a log aggregator, whichever object they
// appear in (options, request headers, agent hello).
const REDACT = [
  'secret',
  'token',
  'appPassword',
  '*.secret',
  '*.token',
  '*.appPassword',
  '*.authorization',
  '*.cookie',
  '*["slime-app-password"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["slime-app-password"]',
];

/** Validates a --log-level value; pino would throw a stack trace on an unknown one. */
export function checkLogLevel(level: string, source = '--log-level'): string {
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`invalid ${source} "${level}": expected one of ${LEVELS.join(', ')}`);
  }
  return level;
}

/** JSON lines on stdout, one logger per process; hub and agent get it through their options. */
export function createLogger(level: string): Logger {
  return pino({ level: checkLogLevel(level), redact: { paths: REDACT, censor: '[redacted]' } });
}
