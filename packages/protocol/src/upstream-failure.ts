/**
 * What an HTTP client's failure means, the one table both the agent (its upstream calls) and the
 * hub (URL endpoints) read, so the same failure is the same status whichever way a request went.
 *
 * - `connect`: no connection could be made (refused, DNS, unreachable, connect timeout). The
 *   upstream saw nothing: safe to run the request elsewhere. 502, or a re-dispatch.
 * - `timeout`: connected, but the head or the body did not come in time. 504.
 * - `error`: anything else (reset, malformed response, framing). 502.
 *
 * Pure: codes are read off the error (and its cause) as strings; no Node types.
 */
export type UpstreamFailureKind = 'connect' | 'timeout' | 'error';

export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  /**
   * What happened, in our words: this reaches clients in problem+json bodies, so it never carries
   * library internals or the upstream's address (those go to logs).
   */
  phrase: string;
}

// kind, phrase, then the error codes that mean it (Node's, and undici's UND_ERR_*)
const ROWS: readonly (readonly [UpstreamFailureKind, string, ...string[]])[] = [
  ['connect', 'upstream refused the connection', 'ECONNREFUSED'],
  ['connect', 'upstream host name does not resolve', 'ENOTFOUND', 'EAI_AGAIN'],
  ['connect', 'upstream host unreachable', 'EHOSTUNREACH'],
  ['connect', 'upstream network unreachable', 'ENETUNREACH'],
  ['connect', 'upstream connection timed out', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'],
  ['timeout', 'upstream sent no response head in time', 'UND_ERR_HEADERS_TIMEOUT'],
  ['timeout', 'upstream response body stalled', 'UND_ERR_BODY_TIMEOUT'],
  ['error', 'upstream reset the connection', 'ECONNRESET'],
  ['error', 'upstream closed the connection while the request was sent', 'EPIPE'],
  ['error', 'upstream closed the connection or sent a malformed response', 'UND_ERR_SOCKET'],
  [
    'error',
    'upstream response body does not match its Content-Length',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  ],
  ['error', 'request body does not match its Content-Length', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'],
  ['error', 'upstream sent an unexpected informational response', 'UND_ERR_INFO'],
  [
    'error',
    'request cannot be sent upstream: the HTTP client refused it',
    'UND_ERR_INVALID_ARG',
    'UND_ERR_NOT_SUPPORTED',
  ],
];

const TABLE: ReadonlyMap<string, UpstreamFailure> = new Map(
  ROWS.flatMap(([kind, phrase, ...codes]) => codes.map((code) => [code, { kind, phrase }] as const)),
);

/** The string codes of an error and of its cause (an abort's cause has a numeric code: skipped). */
export function errorCodes(err: unknown): string[] {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  const out: string[] = [];
  for (const c of [e?.code, e?.cause?.code]) if (typeof c === 'string') out.push(c);
  return out;
}

/**
 * Whether a failure says the upstream is down rather than that one request went wrong: no
 * connection could be made (the `connect` rows), or it was reset. Callers count a reset only when
 * no response head had arrived: a reset mid-body is one broken response, not a dead upstream.
 */
export function isUpstreamDown(err: unknown): boolean {
  return errorCodes(err).some((code) => TABLE.get(code)?.kind === 'connect' || code === 'ECONNRESET');
}

/** Classifies an HTTP client's failure; unknown failures are `error` with a neutral phrase. */
export function upstreamFailure(err: unknown): UpstreamFailure {
  for (const code of errorCodes(err)) {
    const known = TABLE.get(code);
    if (known) return known;
    if (code.startsWith('HPE_')) return { kind: 'error', phrase: 'upstream sent a malformed response' };
  }
  return { kind: 'error', phrase: 'upstream call failed' };
}
