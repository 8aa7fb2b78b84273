import { withoutStack } from '@slime/protocol';

/** Stable error codes of the hub. Each maps to one HTTP status in `statusOf`. */
export type HubErrorCode =
  | 'ERR_HUB_BAD_REQUEST'
  | 'ERR_HUB_MALFORMED_REQUEST'
  | 'ERR_HUB_REQUEST_TIMEOUT'
  | 'ERR_HUB_URI_TOO_LONG'
  | 'ERR_HUB_HEADERS_TOO_LARGE'
  | 'ERR_HUB_HTTP_VERSION'
  | 'ERR_HUB_UPGRADE_UNSUPPORTED'
  | 'ERR_HUB_UPGRADE_LIMIT'
  | 'ERR_HUB_EXPECTATION_FAILED'
  | 'ERR_HUB_UNAUTHORIZED'
  | 'ERR_HUB_FORBIDDEN'
  | 'ERR_HUB_NOT_FOUND'
  | 'ERR_HUB_METHOD_NOT_ALLOWED'
  | 'ERR_HUB_RATE_LIMITED'
  | 'ERR_HUB_NO_AGENT'
  | 'ERR_HUB_QUEUE_FULL'
  | 'ERR_HUB_BLOCK_TIMEOUT'
  | 'ERR_HUB_OVERLOADED'
  | 'ERR_HUB_SHUTTING_DOWN'
  | 'ERR_HUB_AGENT_LOST'
  | 'ERR_HUB_UPSTREAM_UNREACHABLE'
  | 'ERR_HUB_UPSTREAM_ERROR'
  | 'ERR_HUB_UPSTREAM_TIMEOUT'
  | 'ERR_HUB_STREAM_IDLE'
  | 'ERR_HUB_CLIENT_GONE'
  | 'ERR_HUB_INTERNAL'
  | 'ERR_HUB_INVALID_OPTION'
  | 'ERR_HUB_INVALID_POLICY';

const STATUS: Record<HubErrorCode, number> = {
  ERR_HUB_BAD_REQUEST: 400,
  ERR_HUB_MALFORMED_REQUEST: 400,
  ERR_HUB_REQUEST_TIMEOUT: 408,
  ERR_HUB_URI_TOO_LONG: 414,
  ERR_HUB_HEADERS_TOO_LARGE: 431,
  ERR_HUB_HTTP_VERSION: 505,
  ERR_HUB_UPGRADE_UNSUPPORTED: 501,
  ERR_HUB_UPGRADE_LIMIT: 503,
  ERR_HUB_EXPECTATION_FAILED: 417,
  ERR_HUB_UNAUTHORIZED: 401,
  ERR_HUB_FORBIDDEN: 403,
  ERR_HUB_NOT_FOUND: 404,
  ERR_HUB_METHOD_NOT_ALLOWED: 405,
  ERR_HUB_RATE_LIMITED: 429,
  ERR_HUB_NO_AGENT: 503,
  ERR_HUB_QUEUE_FULL: 503,
  ERR_HUB_BLOCK_TIMEOUT: 503,
  ERR_HUB_OVERLOADED: 503,
  ERR_HUB_SHUTTING_DOWN: 503,
  ERR_HUB_AGENT_LOST: 502,
  ERR_HUB_UPSTREAM_UNREACHABLE: 502,
  ERR_HUB_UPSTREAM_ERROR: 502,
  ERR_HUB_UPSTREAM_TIMEOUT: 504,
  ERR_HUB_STREAM_IDLE: 504,
  // The client is gone: nothing is written; 499 is what access logs show (nginx's convention).
  ERR_HUB_CLIENT_GONE: 499,
  ERR_HUB_INTERNAL: 500,
  ERR_HUB_INVALID_OPTION: 500,
  ERR_HUB_INVALID_POLICY: 400,
};

export interface HubErrorOptions {
  cause?: unknown;
  /** Extra response headers (Retry-After, RateLimit, ...). */
  headers?: Record<string, string>;
  /** Seconds the client should wait; becomes Retry-After. */
  retryAfter?: number;
  /** The request never reached an upstream and may be dispatched again. */
  retryable?: boolean;
  /** ERR_HUB_INVALID_OPTION: the option at fault, as a path in the config (`maxQueue`, `admin.port`). */
  option?: string;
  /** ERR_HUB_INVALID_POLICY: every problem found, one line each. */
  details?: readonly string[];
}

/** The hub's one error type. Becomes an application/problem+json response in one place. */
export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly retryable: boolean;
  /** The option at fault (ERR_HUB_INVALID_OPTION), so callers name it in their own terms (a CLI flag). */
  readonly option: string | undefined;
  /** Every problem found (ERR_HUB_INVALID_POLICY), one line each. */
  readonly details: readonly string[];

  constructor(code: HubErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = STATUS[code];
    this.headers = { ...options.headers };
    this.retryable = options.retryable ?? false;
    this.option = options.option;
    this.details = options.details ?? [];
    if (options.retryAfter !== undefined)
      this.headers['retry-after'] = String(Math.max(1, Math.ceil(options.retryAfter)));
  }
}

/**
 * A HubError for a designed answer (a client that left, a full queue, no free agent): built without
 * a stack trace, which was most of its cost, at the rate clients cancel or retry (a 499 or a 503 is
 * no bug to debug; scenario 13's cancelled streams spent ~6% of the hub's CPU on these stacks).
 */
export function expectedError(code: HubErrorCode, message: string, options?: HubErrorOptions): HubError {
  return withoutStack(() => new HubError(code, message, options));
}

/** The client went away before the answer was written. */
export const clientGone = (): HubError => expectedError('ERR_HUB_CLIENT_GONE', 'client went away');

export function statusOf(code: HubErrorCode): number {
  return STATUS[code];
}

/** Wraps anything thrown into a HubError; unknown errors become ERR_HUB_INTERNAL. */
export function toHubError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  return new HubError('ERR_HUB_INTERNAL', 'internal error', { cause: err });
}

/**
 * The error every option check throws: `message` starts with the option's name (as TypeError and
 * RangeError messages did), `option` carries it for callers that map names to their own terms.
 */
export function invalidOption(option: string, message: string): HubError {
  return new HubError('ERR_HUB_INVALID_OPTION', `${option} ${message}`, { option });
}
