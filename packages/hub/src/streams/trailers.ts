import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HeaderList, isToken, isWritableFieldValue, Limits } from '@slime/protocol';

/**
 * Fields that never travel as trailers: they frame, route or authenticate the message and a
 * recipient would have to process them before the content (RFC 9110 §6.5.1).
 */
const FORBIDDEN: ReadonlySet<string> = new Set([
  'content-length',
  'content-encoding',
  'content-type',
  'content-range',
  'transfer-encoding',
  'trailer',
  'te',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'authorization',
  'set-cookie',
  'cookie',
  'cache-control',
  'expect',
  'max-forwards',
  'pragma',
  'range',
]);

/**
 * A trailer section as it may cross the hub: lower-case token names, writable values, no field
 * that belongs in a head, within the protocol's header limits. What does not fit is dropped (a
 * trailer is advisory unless both ends agree otherwise; a broken one must not cost the response).
 */
export function trailerList(raw: readonly string[]): HeaderList {
  const out: HeaderList = [];
  let bytes = 0;
  for (let i = 0; i + 1 < raw.length && out.length < Limits.MAX_HEADERS; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (FORBIDDEN.has(name) || name.startsWith('slime-') || !isToken(name)) continue;
    if (!isWritableFieldValue(value) || value.length > Limits.MAX_HEADER_VALUE_BYTES) continue;
    if (name.length > Limits.MAX_HEADER_NAME_BYTES) continue;
    bytes += name.length + Buffer.byteLength(value);
    if (bytes > Limits.MAX_HEADER_BYTES) break;
    out.push([name, value]);
  }
  return out;
}

/** The client said it takes trailers (`TE: trailers`, RFC 9110 §10.1.4) over HTTP/1.1. */
export function acceptsTrailers(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor === 0) return false;
  const te = req.headers.te as string | undefined;
  return te?.split(',').some((t) => t.split(';', 1)[0]!.trim().toLowerCase() === 'trailers') === true;
}

/**
 * Writes response trailers to a client that asked for them. Node sends a trailer section only with
 * chunked framing: a response with a Content-Length drops them, which RFC 9110 §6.5 allows.
 */
export function writeTrailers(res: ServerResponse, trailers: HeaderList): void {
  if (trailers.length === 0 || !acceptsTrailers(res.req)) return;
  const fields: Record<string, string> = {};
  for (const [name, value] of trailers) {
    fields[name] = fields[name] === undefined ? value : `${fields[name]}, ${value}`;
  }
  try {
    res.addTrailers(fields);
  } catch {
    // Node refused a field it cannot write; trailers are advisory, the body is already complete.
  }
}

/** The hub forwards `te: trailers` (and nothing else of TE) on a version-3 connection. */
export function withTrailerHeaders(headers: HeaderList, req: IncomingMessage | undefined): HeaderList {
  if (!req || !acceptsTrailers(req)) return headers;
  return [...headers, ['te', 'trailers']];
}
