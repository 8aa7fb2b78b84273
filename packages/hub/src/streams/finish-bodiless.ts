import type { IncomingMessage } from 'node:http';
import { hasBody } from '../http/forwarded.js';

/**
 * Ends the (empty) reading of an HTTP/1.1 request without a body, as Node ends it when the
 * response finishes. A client that leaves mid-response (an SSE stream) then finds its request
 * done; otherwise Node's socket 'close' destroys the request with an ECONNRESET whose stack it
 * formats (Readable destroy reads `err.stack`). A --cpu-prof of a 500-stream SSE burst charged ~8%
 * of the hub's time per stream to that (bench/probes/sse-hub-cpu.mjs; its A/B could not tell the
 * saving from noise). Nothing in the hub reads such a request. Not HTTP/2: there the request and
 * the response share one stream.
 *
 * The hub opens a stream inside Node's 'request' event when an agent slot is free. llhttp has then
 * parsed the head but not yet reported the message's end, so `req.complete` is still false: a
 * request whose head announces no body (no Transfer-Encoding, no or a zero Content-Length) counts
 * as bodiless too. Resuming it cannot lose body bytes, as there are none to come.
 */
export function finishBodiless(req: IncomingMessage | undefined): void {
  if (req === undefined || req.httpVersionMajor !== 1) return;
  if (req.complete || !hasBody(req)) req.resume();
}
