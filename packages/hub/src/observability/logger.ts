import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * Keys whose values never reach a log line, at the top level, one level down (`req.headers` style
 * objects are two levels down) and as header names. pino's redact paths are exact, so each depth is
 * listed; `*` matches any key at that depth.
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'slime-app-password',
  'proxy-authorization',
  'token',
  'secret',
  'password',
  'appPassword',
  'adminToken',
];

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith('[') ? '' : '.';
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.headers${dot}${key}`];
});

export interface CreateLoggerOptions {
  /** Default "info". */
  level?: LogLevel;
  /** Where lines go; default stdout (fd 1), written synchronously so nothing is lost on exit. */
  destination?: DestinationStream;
  /** Bound to every line, e.g. `{ component: 'hub' }`. */
  base?: Record<string, unknown>;
}

/**
 * The pino logger the CLI gives the hub and the agent: JSON lines, ISO times, secrets redacted.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: flags.logLevel });
 * const hub = createHub({ secret, logger });
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const level = options.level ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new RangeError(`level must be one of ${LEVELS.join(', ')}`);
  }
  if (options.destination !== undefined && typeof options.destination.write !== 'function') {
    throw new TypeError('destination must be a writable stream');
  }
  const config: LoggerOptions = {
    level,
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(config, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
