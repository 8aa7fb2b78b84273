import type { ServerResponse } from 'node:http';
import { writeProblem } from '../http/problem.js';

/** Admin API error codes (hub codes where one exists). */
export type AdminErrorCode =
  | 'ERR_HUB_BAD_REQUEST'
  | 'ERR_HUB_UNAUTHORIZED'
  | 'ERR_HUB_NOT_FOUND'
  | 'ERR_HUB_METHOD_NOT_ALLOWED'
  | 'ERR_HUB_INVALID_POLICY'
  | 'ERR_HUB_PAYLOAD_TOO_LARGE'
  | 'ERR_HUB_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_HUB_INTERNAL';

/** An error an admin handler throws to answer with a problem+json response. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly status: number;
  readonly code: AdminErrorCode;
  readonly headers: Record<string, string>;
  /** Every problem found (policy validation), sent as the `errors` extension member. */
  readonly errors: string[] | undefined;

  constructor(
    status: number,
    code: AdminErrorCode,
    message: string,
    extra: { headers?: Record<string, string>; errors?: string[]; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.status = status;
    this.code = code;
    this.headers = extra.headers ?? {};
    this.errors = extra.errors;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** RFC 9457 problem details, written by the hub's one problem writer. */
export function sendProblem(res: ServerResponse, err: AdminError): void {
  writeProblem(res, err);
}
