import { ResetCode, type ResetCodeValue } from '@slime/protocol';
import { UnsendableRequestError } from './upstream-request.js';

function codesOf(err: unknown): Array<string | undefined> {
  const codes = [(err as { code?: unknown })?.code, (err as { cause?: { code?: unknown } })?.cause?.code];
  // an abort's cause is a DOMException, whose code is a number
  return codes.map((c) => (typeof c === 'string' ? c : undefined));
}

/** Maps undici/socket failures to RESET codes the hub turns into 502/504. */
export function resetCodeFor(err: unknown): ResetCodeValue {
  for (const code of codesOf(err)) {
    switch (code) {
      case 'ECONNREFUSED':
      case 'ENOTFOUND':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EAI_AGAIN':
        return ResetCode.UPSTREAM_CONNECT;
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'ETIMEDOUT':
        return ResetCode.UPSTREAM_TIMEOUT;
    }
  }
  return ResetCode.UPSTREAM_ERROR;
}

/**
 * Whether a failed call says the upstream is down rather than that one request went wrong: the
 * connection was refused, could not be made (DNS, unreachable, connect timeout), or was reset.
 * The caller counts a reset only when no response head had arrived: a reset mid-body is one
 * broken response, not a dead upstream.
 */
export function isConnectFailure(err: unknown): boolean {
  for (const code of codesOf(err)) {
    switch (code) {
      case 'ECONNREFUSED':
      case 'ECONNRESET':
      case 'ENOTFOUND':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EAI_AGAIN':
      case 'ETIMEDOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return true;
    }
  }
  return false;
}

const PHRASES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'upstream refused the connection',
  ECONNRESET: 'upstream reset the connection',
  EPIPE: 'upstream closed the connection while the request was sent',
  ENOTFOUND: 'upstream host name does not resolve',
  EAI_AGAIN: 'upstream host name does not resolve',
  EHOSTUNREACH: 'upstream host unreachable',
  ENETUNREACH: 'upstream network unreachable',
  ETIMEDOUT: 'upstream connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'upstream connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'upstream sent no response head in time',
  UND_ERR_BODY_TIMEOUT: 'upstream response body stalled',
  UND_ERR_SOCKET: 'upstream closed the connection or sent a malformed response',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'upstream response body does not match its Content-Length',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'request body does not match its Content-Length',
  UND_ERR_INFO: 'upstream sent an unexpected informational response',
  HPE_INVALID_CONSTANT: 'upstream sent a malformed response',
};

/**
 * The reason an upstream call failed, in words of our own: this text reaches the application's
 * client in a problem+json body, so it never carries library internals (assertion text, stack
 * frames) or the upstream's internal address. The full error goes to the agent's log.
 */
export function describeUpstreamError(err: unknown): string {
  if (err instanceof UnsendableRequestError) return `request cannot be sent upstream: ${err.message}`;
  for (const code of codesOf(err)) {
    if (code === undefined) continue;
    const phrase = PHRASES[code];
    if (phrase) return phrase;
    if (code.startsWith('HPE_')) return 'upstream sent a malformed response';
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      return 'request cannot be sent upstream: the HTTP client refused it';
    }
  }
  return 'upstream call failed';
}
