import type { IncomingMessage } from 'node:http';

/**
 * Ends the (empty) reading of an HTTP/1.1 request without a body, complete once its head was
 * parsed, as Node ends it when the response finishes. A client that leaves mid-response (an SSE
 * stream) then finds its request done; otherwise Node destroys the request with an ECONNRESET
 * whose stack it formats: ~6 µs per stream a client leaves (plain node:http, main-thread CPU,
 * alternating rounds). Nothing in the hub reads such a request. Not HTTP/2: there the request and
 * the response share one stream.
 */
export function finishBodiless(req: IncomingMessage | undefined): void {
  if (req !== undefined && req.httpVersionMajor === 1 && req.complete) req.resume();
}
