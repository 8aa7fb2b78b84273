// Timestamps of a proxy's stages, per process, in nowMs (one clock across processes), for
// bench/probes/sse-burst-timeline.mjs. Each function subscribes (or patches) on its first call and
// returns what was seen since the last call on every later one. Bench only.
import diagnostics from 'node:diagnostics_channel';
import { ServerResponse } from 'node:http';
import { nowMs } from './clock.mjs';

let served = null;
/**
 * The front (hub or lean front): when node:http began each request (its diagnostics channel) and
 * when each head was flushed (flushHeaders, which both call for a streamed head; patched on
 * ServerResponse.prototype in this process).
 */
export function traceServer() {
  if (served === null) {
    served = { requests: [], heads: [] };
    diagnostics.subscribe('http.server.request.start', () => served.requests.push(nowMs()));
    const flush = ServerResponse.prototype.flushHeaders;
    ServerResponse.prototype.flushHeaders = function flushHeaders() {
      served.heads.push(nowMs());
      return flush.call(this);
    };
    return { requests: [], heads: [] };
  }
  const out = served;
  served = { requests: [], heads: [] };
  return out;
}

const none = () => ({ created: [], connected: [], sent: [], headers: [] });
let upstream = null;
/**
 * The back (agent or lean back), from undici's diagnostics channels: when each upstream request
 * was made, each new connection was up, each request's head was written, and each response head
 * came back.
 */
export function traceUpstream() {
  if (upstream === null) {
    upstream = none();
    diagnostics.subscribe('undici:request:create', () => upstream.created.push(nowMs()));
    diagnostics.subscribe('undici:client:connected', () => upstream.connected.push(nowMs()));
    diagnostics.subscribe('undici:client:sendHeaders', () => upstream.sent.push(nowMs()));
    diagnostics.subscribe('undici:request:headers', () => upstream.headers.push(nowMs()));
    return none();
  }
  const out = upstream;
  upstream = none();
  return out;
}
