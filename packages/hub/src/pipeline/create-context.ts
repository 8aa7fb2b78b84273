import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { wasAnsweredEarly } from '../http/client-errors.js';
import { hasBody, upstreamHeaders, type XffMode } from '../http/forwarded.js';
import { grpcTimeoutMs } from '../http/grpc-timeout.js';
import { requestTarget } from '../http/request-target.js';
import type { RequestContext } from './context.js';
import { RequestAbort } from './request-abort.js';

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

/** Builds the per-request context. Throws HubError(400) for malformed control headers. */
export function createContext(req: IncomingMessage, res: ServerResponse, deps: ContextDeps): RequestContext {
  const target = requestTarget(req);
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const clientIp = req.socket.remoteAddress ?? '';
  const abort = new RequestAbort();
  res.once('close', () => {
    // A response the parser's 400 finished early still has a pipeline (and maybe an agent
    // stream) to stop.
    if (!res.writableFinished || wasAnsweredEarly(res)) abort.abort(CLIENT_GONE);
  });
  const scopeHeader = req.headers['slime-scope'];
  const scope = typeof scopeHeader === 'string' && scopeHeader !== '' ? scopeHeader : undefined;
  const body = hasBody(req) ? req : null;
  const blockTimeoutMs = blockTimeout(req.headers['slime-block-timeout'], deps.blockTimeoutMs);
  // A gRPC deadline bounds the wait for an agent and the wait for the response head alike.
  const deadline = grpcTimeoutMs(req.headers['grpc-timeout']);
  // Parsed on first use: most requests meet no rule that reads a query parameter.
  let query: URLSearchParams | undefined;
  let log: Logger | undefined;
  const ctx: RequestContext = {
    req,
    res,
    requestId,
    method: req.method ?? 'GET',
    path,
    target,
    get query() {
      query ??= new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
      return query;
    },
    clientIp,
    ...(scope !== undefined ? { scope } : {}),
    route: { kind: 'agents' },
    block: wantsBlock(req.headers['slime-block']),
    ...(deadline !== undefined
      ? { requestTimeoutMs: deadline, blockTimeoutMs: Math.min(blockTimeoutMs ?? deadline, deadline) }
      : blockTimeoutMs !== undefined
        ? { blockTimeoutMs }
        : {}),
    upstreamHeaders: upstreamHeaders(req, clientIp, requestId, deps.xff),
    body,
    responseHeaders: {},
    // the AbortSignal is made on first use; dispatch listens on the cheaper stand-in
    get signal() {
      return abort.signal;
    },
    abortLike: abort,
    // A child logger costs a few µs (its bindings are serialized at once); most requests never log
    // through it (the access line has its own logger), so it is made on first use.
    get log() {
      log ??= deps.log.child({ requestId });
      return log;
    },
    set log(value: Logger) {
      log = value;
    },
    startedAt: deps.now(),
    notes: {},
  };
  return ctx;
}
