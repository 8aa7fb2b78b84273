import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';

/** The part of a response UpstreamCall reads, from undici or from node:http. */
export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  body: Readable;
  /** The trailer section, complete once `body` ended ([name, value, ...]). */
  rawTrailers?: () => string[];
}

export interface AsteriskRequestOptions {
  origin: string;
  method: string;
  headers: string[];
  body: Readable | null;
  signal: AbortSignal;
  headersTimeoutMs: number;
  /** Origin-form path; default `*` (asterisk-form). */
  path?: string;
  /** Request trailers, read once the body ended (chunked uploads that announced `Trailer`). */
  trailers?: () => HeaderList | undefined;
}

/**
 * Sends an asterisk-form request (`OPTIONS * HTTP/1.1`, RFC 9112 §3.2.4) on a connection of its
 * own. undici cannot write that target; node:http can. It is rare (server-wide OPTIONS probes), so a
 * fresh connection per request costs nothing that matters, and it never touches the pooled ones.
 */
export function asteriskRequest(options: AsteriskRequestOptions): Promise<UpstreamResponse> {
  const url = new URL(options.origin);
  const headers = [...options.headers];
  let hasHost = false;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'host') hasHost = true;
  if (!hasHost) headers.push('host', url.host);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const req = send({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      method: options.method,
      path: options.path ?? '*',
      headers,
      agent: false,
      signal: options.signal,
    });
    const timer = setTimeout(() => {
      const err = Object.assign(new Error('upstream sent no response head in time'), {
        code: 'UND_ERR_HEADERS_TIMEOUT',
      });
      req.destroy(err);
    }, options.headersTimeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve({
        statusCode: res.statusCode ?? 502,
        headers: res.headers,
        body: res,
        rawTrailers: () => res.rawTrailers,
      });
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const body = options.body;
    if (!body) req.end();
    else if (!options.trailers) body.pipe(req);
    else {
      body.pipe(req, { end: false });
      body.once('end', () => {
        const trailers = options.trailers?.();
        if (trailers?.length) {
          try {
            req.addTrailers(trailers);
          } catch {
            // Node refused a field it cannot write; trailers are advisory, the body is complete.
          }
        }
        req.end();
      });
    }
  });
}
