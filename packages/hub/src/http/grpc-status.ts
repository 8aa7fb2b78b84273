import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Problem } from './problem.js';

/** gRPC status codes the hub answers with (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const BY_CODE: Readonly<Record<string, number>> = {
  ERR_HUB_BAD_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  ERR_HUB_MALFORMED_REQUEST: GrpcStatus.INTERNAL,
  ERR_HUB_UNAUTHORIZED: GrpcStatus.UNAUTHENTICATED,
  ERR_HUB_FORBIDDEN: GrpcStatus.PERMISSION_DENIED,
  ERR_HUB_NOT_FOUND: GrpcStatus.UNIMPLEMENTED,
  ERR_HUB_METHOD_NOT_ALLOWED: GrpcStatus.UNIMPLEMENTED,
  ERR_HUB_RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  ERR_HUB_QUEUE_FULL: GrpcStatus.RESOURCE_EXHAUSTED,
  ERR_HUB_NO_AGENT: GrpcStatus.UNAVAILABLE,
  ERR_HUB_OVERLOADED: GrpcStatus.UNAVAILABLE,
  ERR_HUB_SHUTTING_DOWN: GrpcStatus.UNAVAILABLE,
  ERR_HUB_BLOCK_TIMEOUT: GrpcStatus.UNAVAILABLE,
  ERR_HUB_AGENT_LOST: GrpcStatus.UNAVAILABLE,
  ERR_HUB_UPSTREAM_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  ERR_HUB_UPSTREAM_ERROR: GrpcStatus.UNAVAILABLE,
  ERR_HUB_UPSTREAM_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_HUB_STREAM_IDLE: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_HUB_INTERNAL: GrpcStatus.INTERNAL,
};

/** `application/grpc` and its `+proto`/`+json` forms; gRPC-Web (`application/grpc-web`) is not. */
export function isGrpcRequest(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/grpc(?:[+;]|$)/i.test(type);
}

/**
 * The gRPC status for one of the hub's own errors. A wait that ran out while the client gave a
 * `grpc-timeout` ran out of the client's deadline, hence DEADLINE_EXCEEDED; otherwise the codes
 * follow what a retrying client should do (UNAVAILABLE is retried, the rest are not).
 */
export function grpcStatusOf(problem: Problem, hasDeadline: boolean): number {
  if (hasDeadline && problem.code === 'ERR_HUB_BLOCK_TIMEOUT') return GrpcStatus.DEADLINE_EXCEEDED;
  const byCode = BY_CODE[problem.code];
  if (byCode !== undefined) return byCode;
  // grpc/doc/http-grpc-status-mapping.md for the rest
  if (problem.status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (problem.status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (problem.status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (problem.status === 429 || problem.status === 502 || problem.status === 503)
    return GrpcStatus.UNAVAILABLE;
  if (problem.status === 504) return GrpcStatus.DEADLINE_EXCEEDED;
  if (problem.status >= 400 && problem.status < 500) return GrpcStatus.INTERNAL;
  return GrpcStatus.UNKNOWN;
}

/** grpc-message is percent-encoded UTF-8 outside printable ASCII (and `%` itself). */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Answers a gRPC request with the hub's error as a Trailers-Only response: HTTP 200 and one
 * HEADERS frame ending the stream with `grpc-status` and `grpc-message` (the gRPC wire spec's
 * form for a call that fails before any message). The problem's code travels in
 * `slime-error-code`, its headers (Retry-After...) beside it.
 */
export function writeGrpcProblem(
  res: ServerResponse,
  problem: Problem,
  extra: { requestId?: string; headers?: Record<string, string> } = {},
): void {
  const hasDeadline = res.req?.headers['grpc-timeout'] !== undefined;
  const headers: Record<string, string> = {
    ...extra.headers,
    ...problem.headers,
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatusOf(problem, hasDeadline)),
    'grpc-message': encodeGrpcMessage(problem.message),
    'slime-error-code': problem.code,
  };
  res.statusCode = 200;
  const stream = (res as unknown as Http2ServerResponse).stream;
  if (res.req?.httpVersionMajor === 2 && stream !== undefined) {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('content-length', 0);
  res.end();
}

/**
 * Ends a gRPC call whose response head is out already with the hub's error as its status, in the
 * trailers (`grpc-status`, `grpc-message`, `slime-error-code`), instead of a stream reset that
 * gRPC clients read as INTERNAL: an agent lost mid-stream is UNAVAILABLE, as before the head.
 * False when that is not possible (not gRPC over HTTP/2, the client gone, the response over):
 * the caller aborts the stream then.
 */
export function endGrpcCall(res: ServerResponse, problem: Problem): boolean {
  const req = res.req;
  if (req?.httpVersionMajor !== 2 || !isGrpcRequest(req.headers)) return false;
  if (problem.code === 'ERR_HUB_CLIENT_GONE' || !res.headersSent || res.writableEnded || res.destroyed) {
    return false;
  }
  try {
    res.addTrailers({
      'grpc-status': String(grpcStatusOf(problem, req.headers['grpc-timeout'] !== undefined)),
      'grpc-message': encodeGrpcMessage(problem.message),
      'slime-error-code': problem.code,
    });
    res.end();
  } catch {
    return false;
  }
  return true;
}
