import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { wasAnsweredEarly } from '../http/client-errors.js';
import { hasBody, upstreamHeaders, type XffMode } from '../http/forwarded.js';
import { grpcTimeoutMs } from '../http/grpc-timeout.js';
import { requestTarget } from '../http/request-target.js';
import type { RequestContext } from './context.js';
import { RequestAbort } from './request-abort.js';
import { randomRequestId } from './request-id.js';

// The reason of every aborted request signal: abort() without one builds a DOMException with a
// stack per request (~10 µs), which added up when a burst of clients left at once. Listeners
// look only at `aborted`.
const CLIENT_GONE = new HubError('ERR_HUB_CLIENT_GONE', 'client went away');

const NO_BLOCK = new Set(['0', 'false', 'no', 'off']);
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Slime-Block: any non-empty value blocks except 0/false/no/off (case-insensitive). */
export function wantsBlock(value: string | string[] | undefined): boolean {
  const v = (Array.isArray(value) ? value[0] : value)?.trim().toLowerCase();
  return v !== undefined && v !== '' && !NO_BLOCK.has(v);
}

/** Slime-Block-Timeout in seconds (fractions allowed) -> ms; throws 400 on a malformed value. */
export function blockTimeout(
  value: string | string[] | undefined,
  fallbackMs: number | undefined,
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return fallbackMs;
  const seconds = Number(v);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new HubError('ERR_HUB_BAD_REQUEST', 'Slime-Block-Timeout must be a number of seconds');
  }
  return Math.round(seconds * 1000);
}

export interface ContextDeps {
  log: Logger;
  now: () => number;
  blockTimeoutMs: number | undefined;
  /** How X-Forwarded-For is written (the hub's `xff` option); default append. */
  xff?: XffMode | undefined;
}

/**
 * The per-request context as a class: one hidden class for every request and accessors on the
 * prototype, where an object literal with getters and conditional spreads was built in dictionary
 * mode per request (~5 µs, profiled). Optional fields are `declare`d so that an absent one is
 * absent (`'scope' in ctx` is false), as before.
 */
class HubRequestContext implements RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly target: string;
  clientIp: string;
  declare app?: string;
  declare priority?: NonNullable<RequestContext['priority']>;
  declare scope?: string;
  route: RequestContext['route'] = { kind: 'agents' };
  declare upgrade?: NonNullable<RequestContext['upgrade']>;
  readonly block: boolean;
  declare readonly blockTimeoutMs?: number;
  declare requestTimeoutMs?: number;
  upstreamHeaders: RequestContext['upstreamHeaders'];
  readonly body: IncomingMessage | null;
  readonly responseHeaders: Record<string, string> = {};
  declare result?: NonNullable<RequestContext['result']>;
  declare downstream?: NonNullable<RequestContext['downstream']>;
  declare attempt?: NonNullable<RequestContext['attempt']>;
  readonly abortLike: RequestAbort;
  readonly startedAt: number;
  readonly notes: Record<string, string | number | boolean> = {};
  policyView: unknown = undefined;
  rateLimitHold: unknown = undefined;
  traceState: unknown = undefined;
  // Parsed on first use: most requests meet no rule that reads a query parameter.
  #query: URLSearchParams | undefined;
  // A child logger costs a few µs (its bindings are serialized at once); most requests never log
  // through it (the access line has its own logger), so it is made on first use.
  #log: Logger | undefined;
  readonly #baseLog: Logger;

  constructor(req: IncomingMessage, res: ServerResponse, deps: ContextDeps) {
    const target = requestTarget(req);
    const q = target.indexOf('?');
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomRequestId();
    const clientIp = req.socket.remoteAddress ?? '';
    const abort = new RequestAbort();
    // 'close' comes once: `on` spares the wrapper `once` makes per listener
    res.on('close', () => {
      // A response the parser's 400 finished early still has a pipeline (and maybe an agent
      // stream) to stop.
      if (!res.writableFinished || wasAnsweredEarly(res)) abort.abort(CLIENT_GONE);
    });
    const scopeHeader = req.headers['slime-scope'];
    const blockTimeoutMs = blockTimeout(req.headers['slime-block-timeout'], deps.blockTimeoutMs);
    // A gRPC deadline bounds the wait for an agent and the wait for the response head alike.
    const deadline = grpcTimeoutMs(req.headers['grpc-timeout']);
    this.req = req;
    this.res = res;
    this.requestId = requestId;
    this.method = req.method ?? 'GET';
    this.path = q === -1 ? target : target.slice(0, q);
    this.target = target;
    this.clientIp = clientIp;
    if (typeof scopeHeader === 'string' && scopeHeader !== '') this.scope = scopeHeader;
    this.block = wantsBlock(req.headers['slime-block']);
    if (deadline !== undefined) {
      this.requestTimeoutMs = deadline;
      (this as { blockTimeoutMs?: number }).blockTimeoutMs = Math.min(blockTimeoutMs ?? deadline, deadline);
    } else if (blockTimeoutMs !== undefined) {
      (this as { blockTimeoutMs?: number }).blockTimeoutMs = blockTimeoutMs;
    }
    this.upstreamHeaders = upstreamHeaders(req, clientIp, requestId, deps.xff);
    this.body = hasBody(req) ? req : null;
    this.abortLike = abort;
    this.#baseLog = deps.log;
    this.startedAt = deps.now();
  }

  get query(): URLSearchParams {
    if (this.#query === undefined) {
      const q = this.target.indexOf('?');
      this.#query = new URLSearchParams(q === -1 ? '' : this.target.slice(q + 1));
    }
    return this.#query;
  }

  // the AbortSignal is made on first use; dispatch listens on the cheaper stand-in
  get signal(): AbortSignal {
    return this.abortLike.signal;
  }

  get log(): Logger {
    this.#log ??= this.#baseLog.child({ requestId: this.requestId });
    return this.#log;
  }

  set log(value: Logger) {
    this.#log = value;
  }
}

/** Builds the per-request context. Throws HubError(400) for malformed control headers. */
export function createContext(req: IncomingMessage, res: ServerResponse, deps: ContextDeps): RequestContext {
  return new HubRequestContext(req, res, deps);
}
