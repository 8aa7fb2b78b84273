import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * Makes an HTTP/2 request (Node's compatibility API) read like the HTTP/1.1 requests the pipeline
 * was written for, so every policy serves both the same way:
 *
 * - `rawHeaders` without pseudo-header fields (`:method`, `:path`...), which belong to the frame
 *   and must never travel upstream as fields;
 * - a Host field from `:authority` when the client sent none (RFC 9113 §8.3.1: they are the same);
 * - the cookie fields HTTP/2 sends one per crumb joined with "; " before they reach an HTTP/1.1
 *   upstream (RFC 9113 §8.2.3).
 *
 * `httpVersionMajor` stays 2: logs and X-Forwarded-Proto tell the truth.
 */
export function adaptH2Request(req: Http2ServerRequest): IncomingMessage {
  const given = req.rawHeaders;
  const raw: string[] = [];
  const cookies: string[] = [];
  let host: string | undefined;
  for (let i = 0; i < given.length; i += 2) {
    const name = given[i]!;
    const value = given[i + 1]!;
    if (name.startsWith(':')) continue;
    if (name === 'cookie') {
      cookies.push(value);
      continue;
    }
    if (name === 'host') host ??= value;
    raw.push(name, value);
  }
  const authority = req.headers[':authority'];
  if (host === undefined && typeof authority === 'string' && authority !== '') {
    raw.unshift('host', authority);
    req.headers.host = authority;
  }
  if (cookies.length > 0) {
    raw.push('cookie', cookies.join('; '));
    req.headers.cookie = cookies.join('; ');
  }
  Object.defineProperty(req, 'rawHeaders', { value: raw, writable: true, configurable: true });
  return req as unknown as IncomingMessage;
}

/**
 * Whether a request came over HTTP/2 and has a body: HTTP/2 needs no Content-Length or
 * Transfer-Encoding (gRPC sends neither); only END_STREAM on the HEADERS frame says "no body".
 */
export function h2HasBody(req: IncomingMessage): boolean | undefined {
  if (req.httpVersionMajor !== 2) return undefined;
  const stream = (req as unknown as Http2ServerRequest).stream;
  if (stream === undefined) return undefined;
  return !stream.endAfterHeaders && req.headers['content-length'] !== '0';
}

const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Node's compatibility response reports `writableFinished` true for a stream the client reset
 * (RST_STREAM) before the response ended; the pipeline reads "finished" as "delivered", so an
 * HTTP/2 reset would not abort the request. Finished here means ended by us and flushed, as on
 * HTTP/1.1.
 */
export function adaptH2Response(res: Http2ServerResponse): ServerResponse {
  // HTTP/1.1 connection management (`Connection: close` while draining) means nothing in HTTP/2
  // (RFC 9113 §8.2.2); Node would drop it with a process warning per response.
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) =>
    CONNECTION_SPECIFIC.has(name.toLowerCase()) ? res : setHeader(name, value);
  const proto = Object.getPrototypeOf(res) as object;
  const finished = Object.getOwnPropertyDescriptor(proto, 'writableFinished')?.get;
  Object.defineProperty(res, 'writableFinished', {
    configurable: true,
    get(this: Http2ServerResponse) {
      return this.writableEnded && (finished === undefined || finished.call(this) === true);
    },
  });
  return res as unknown as ServerResponse;
}
