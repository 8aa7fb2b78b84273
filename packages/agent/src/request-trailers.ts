import type { UpstreamRequest } from './upstream-request.js';

function hasField(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

/**
 * Whether the request's trailers go upstream. They need a chunked body written by node:http
 * (undici cannot send them); HTTP/2 (h2c upstreams) ends any body with trailers, announced or not.
 * A `Trailer` announcement that cannot be honoured is dropped from `request` rather than promised
 * upstream.
 */
export function planRequestTrailers(request: UpstreamRequest, hasBody: boolean, h2c: boolean): boolean {
  const announced = hasField(request.headers, 'trailer');
  const send = hasBody && announced && (h2c || !hasField(request.headers, 'content-length'));
  if (!send && announced) {
    const kept: string[] = [];
    for (let i = 0; i < request.headers.length; i += 2) {
      if (request.headers[i] !== 'trailer') kept.push(request.headers[i]!, request.headers[i + 1]!);
    }
    request.headers = kept;
  }
  return send;
}
