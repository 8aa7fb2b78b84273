import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderList } from '@slime/protocol';

/**
 * The client said it takes trailers (`TE: trailers`, RFC 9110 §10.1.4) over HTTP/1.1, or sent
 * `te: trailers` over HTTP/2 (the only TE value HTTP/2 allows, RFC 9113 §8.2.2; gRPC always does).
 */
export function acceptsTrailers(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return false;
  if (req.httpVersionMajor !== 1 && req.httpVersionMajor !== 2) return false;
  const te = req.headers.te as string | undefined;
  return te?.split(',').some((t) => t.split(';', 1)[0]!.trim().toLowerCase() === 'trailers') === true;
}

/**
 * Writes response trailers to a client that takes them: over HTTP/2 always (a HEADERS frame after
 * the body; gRPC's status lives there), over HTTP/1.1 when it asked. Node sends an HTTP/1.1 trailer
 * section only with chunked framing: a response with a Content-Length drops them, which RFC 9110
 * §6.5 allows.
 */
export function writeTrailers(res: ServerResponse, trailers: HeaderList): void {
  if (trailers.length === 0) return;
  if (res.req?.httpVersionMajor !== 2 && !acceptsTrailers(res.req)) return;
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

/**
 * On a version-3 connection the hub forwards `te: trailers` (and nothing else of TE) when the client
 * takes response trailers, and the client's `Trailer` field when it announced request trailers: the
 * agent then sends the request in a way that can carry them.
 */
export function withTrailerHeaders(headers: HeaderList, req: IncomingMessage | undefined): HeaderList {
  if (!req) return headers;
  const declared = req.headers.trailer;
  const te = acceptsTrailers(req);
  if (!te && declared === undefined) return headers;
  const out = [...headers];
  if (te) out.push(['te', 'trailers']);
  if (declared !== undefined && declared !== '') out.push(['trailer', declared]);
  return out;
}
