import { type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { CliContext } from './context.js';
import { withFlatLines } from './flat-line.js';
import type { Settings } from './settings.js';
import { UsageError } from './usage-error.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

// Tokens, secrets and app passwords must never reach a log aggregator, whichever object they
// appear in (options, request headers, agent hello).
export const REDACT = [
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
  // the admin token, passwords and proxy credentials, as the hub library's own list has them
  'adminToken',
  'password',
  '*.adminToken',
  '*.password',
  '*.headers["proxy-authorization"]',
  '*.headers["set-cookie"]',
];

/** Validates a --log-level value; pino would throw a stack trace on an unknown one. */
export function checkLogLevel(level: string, source = '--log-level'): string {
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`invalid ${source} "${level}": expected one of ${LEVELS.join(', ')}`);
  }
  return level;
}

/** Validates a --log-format value. */
export function checkLogFormat(format: string, source = '--log-format'): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`invalid ${source} "${format}": expected json or pretty`);
  }
  return format as LogFormat;
}

export interface LoggerOptions {
  level: string;
  /** `json` (one object per line, for machines) or `pretty` (readable lines). Default json. */
  format?: LogFormat;
  /** Where each line goes (text with its newline). Default: process stdout through pino. */
  write?: (line: string) => void;
  /** Colours in pretty lines. Default false. */
  colorize?: boolean;
}

/**
 * One logger per process; hub and agent get it through their options. JSON lines keep pino's
 * fields (`time` in ms since the epoch); pretty lines read
 * `[2026-11-30T13:29:42.097Z] INFO: hub listening {"url":"http://0.0.0.0:8080",...}`, one per
 * event, with the same redaction.
 */
export function createLogger(options: LoggerOptions | string): Logger {
  const o: LoggerOptions = typeof options === 'string' ? { level: options } : options;
  const base = { level: checkLogLevel(o.level), redact: { paths: REDACT, censor: '[redacted]' } };
  const write = o.write;
  if ((o.format ?? 'json') === 'pretty') {
    const prettify = prettyFactory({
      colorize: o.colorize ?? false,
      singleLine: true,
      translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
      ignore: 'pid,hostname',
    });
    const out = write ?? ((line: string) => process.stdout.write(line));
    return withFlatLines(withCheapPrimitives(pino(base, { write: (line: string) => out(prettify(line)) })));
  }
  return withFlatLines(withCheapPrimitives(write === undefined ? pino(base) : pino(base, { write })));
}

type Stringifier = (value: unknown, safe?: unknown) => string | undefined;

/**
 * pino hands every top-level value of every line (the access line's method, path, status...) to
 * the redactor of the `*.x` paths, which clones and walks each one path by path (pino runs it
 * non-strict): ~5 µs per line for values with nothing to redact. A string, number or boolean has
 * no properties to redact, so it goes straight to the serialiser the redactor ends with; objects
 * still go through the redactor. The lines are byte for byte the same (logger.test.ts compares).
 */
export function withCheapPrimitives(logger: Logger): Logger {
  const sym = pino.symbols as unknown as Record<string, symbol>;
  const target = logger as unknown as Record<symbol, unknown>;
  const stringifiers = target[sym.stringifiersSym!] as Record<symbol, Stringifier> | undefined;
  const stringify = target[sym.stringifySym!] as Stringifier | undefined;
  const safe = target[sym.stringifySafeSym!];
  const wildcard = sym.wildcardFirstSym;
  const redactor = wildcard && stringifiers?.[wildcard];
  if (!stringifiers || !wildcard || typeof redactor !== 'function' || typeof stringify !== 'function') {
    return logger;
  }
  stringifiers[wildcard] = (value, s) =>
    value !== null && (typeof value === 'object' || typeof value === 'function')
      ? redactor(value, s)
      : stringify(value, safe);
  return logger;
}

/**
 * The logger of a long-running command from its `--log-level` and `--log-format` settings:
 * pretty lines at a terminal, JSON otherwise, through `ctx.stdout` (which survives a closed pipe).
 */
export function loggerFor(settings: Settings, ctx: CliContext, defaultLevel = 'info'): Logger {
  const level = settings.string('log-level') ?? defaultLevel;
  checkLogLevel(level, settings.find('log-level')?.source);
  const formatText = settings.string('log-format');
  const format =
    formatText === undefined
      ? ctx.stdoutIsTTY
        ? 'pretty'
        : 'json'
      : checkLogFormat(formatText, settings.find('log-format')?.source);
  return createLogger({
    level,
    format,
    write: ctx.stdout,
    // NO_COLOR (no-color.org) turns colours off, as in most command-line tools
    colorize: format === 'pretty' && ctx.stdoutIsTTY === true && !ctx.env.NO_COLOR,
  });
}
