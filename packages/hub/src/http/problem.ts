import type { ServerResponse } from 'node:http';
import { toHubError } from '../errors.js';
import { isGrpcRequest, writeGrpcProblem } from './grpc-status.js';

/** What a problem response is made of; HubError and the admin API's AdminError both fit. */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Every problem found (e.g. policy validation), sent as the `errors` extension member. */
  readonly errors?: readonly string[] | undefined;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The problem+json body for `err` (shared by responses and raw socket answers). */
export function problemBody(err: Problem, requestId?: string): string {
  return JSON.stringify({
    type: `https://slime.dev/errors/${err.code}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(requestId ? { requestId } : {}),
  });
}

/** The reason phrase for a status, as problem titles use it. */
export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/**
 * Writes an RFC 9457 problem+json response. The single place where errors become HTTP responses:
 * internal details (causes, stack traces) never reach the client; `code` is stable for clients.
 */
export function writeProblem(
  res: ServerResponse,
  err: Problem,
  extra: { requestId?: string; headers?: Record<string, string> } = {},
): void {
  // Already answered (the parser's 400 for a body that broke mid-way): nothing more to say.
  if (res.writableEnded) return;
  if (res.headersSent || res.destroyed) {
    // Too late for a status: the only honest signal left is an aborted connection.
    res.destroy();
    return;
  }
  // gRPC clients read grpc-status, not an HTTP status and a JSON body
  if (res.req !== undefined && isGrpcRequest(res.req.headers)) {
    writeGrpcProblem(res, err, extra);
    return;
  }
  const body = problemBody(err, extra.requestId);
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(extra.headers ?? {})) res.setHeader(k, v);
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

/** Writes any thrown value as a problem response. */
export function writeError(res: ServerResponse, err: unknown, requestId?: string): Problem {
  const hubErr = toHubError(err);
  writeProblem(res, hubErr, requestId === undefined ? {} : { requestId });
  return hubErr;
}
