import type { ServerResponse } from 'node:http';
import { type HeaderList, isHopByHop, isWritableFieldValue } from '@slime/protocol';
import { HubError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import { switchProtocols } from '../upgrade/switch-protocols.js';
import { flushHead } from './flush-head.js';
import { isTrailersOnly, writeTrailersOnly } from './grpc-trailers-only.js';

/**
 * Writes the proxied response head in one writeHead call (raw list form keeps repeated fields such
 * as set-cookie) and streams the body at the client's pace. Resolves when the body was written;
 * a head that cannot be written throws at once (the caller awaits it in its try: the error
 * boundary), so the common path costs no async frame of its own.
 */
export function writeResult(ctx: RequestContext): Promise<void> | undefined {
  const result = ctx.result!;
  const { res } = ctx;
  // The body broke before its head left (an agent's framing violation): still time for a 502.
  if (result.body.failure) throw result.body.failure;
  if (res.writableEnded) {
    // answered already (the HTTP parser refused the rest of the request's body with a 400)
    result.body.discard('client was answered already');
    return undefined;
  }
  const raw: string[] = [];
  let upstreamRequestId = false;
  for (const [name, value] of result.headers) {
    // hop-by-hop fields never cross; our own Slime-Agent-Id is ours to set, not the upstream's
    if (isHopByHop(name) || name === 'slime-agent-id') continue;
    if (!isWritableFieldValue(value)) {
      result.body.discard('response head cannot be written');
      throw new HubError(
        'ERR_HUB_UPSTREAM_ERROR',
        `response header ${name.slice(0, 40)} cannot be sent over HTTP/1.1`,
      );
    }
    // The upstream's own request id wins: the client gets one field, and the id its logs know.
    if (name === 'x-request-id') upstreamRequestId = true;
    raw.push(name, value);
  }
  if (result.servedBy) raw.push('slime-agent-id', result.servedBy);
  if (!upstreamRequestId) raw.push('x-request-id', ctx.requestId);
  // for-in: Object.entries built an array for the (usually empty) map on every response
  const extra = ctx.responseHeaders;
  for (const name in extra) raw.push(name, extra[name]!);
  // An upstream switched protocols for a client upgrade: the socket becomes a tunnel.
  if (result.status === 101 && ctx.upgrade) return switchProtocols(ctx, raw);
  // A gRPC status in the head is a Trailers-Only answer (an upstream's error): it must reach an
  // HTTP/2 client as one HEADERS frame that ends the stream, or gRPC clients read "no status".
  if (isTrailersOnly(res, result.headers)) return writeTrailersOnly(res, result.status, raw, result.body);
  res.writeHead(result.status, raw);
  const piped = result.body.pipe(res);
  // Node sends a head with the first body byte. A body that is not already here (SSE, an LLM's
  // prefill) must not hold the status back: the client's read timeout runs meanwhile.
  if (!res.writableEnded) flushHead(res, raw);
  return piped;
}

/**
 * Forwards an interim response to the client before the final head: 103 Early Hints (its Link
 * fields and the rest) and 102 Processing. Other 1xx codes, and any after the final head, are
 * dropped: HTTP/1.0 clients never see one (RFC 9110 §15.2).
 */
export function writeInterim(res: ServerResponse, status: number, headers: HeaderList): void {
  if (res.headersSent || res.writableEnded || res.req.httpVersionMinor === 0) return;
  if (status === 102) {
    res.writeProcessing();
    return;
  }
  if (status !== 103) return;
  const hints: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    if (isHopByHop(name)) continue;
    const prev = hints[name];
    hints[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  if (hints.link === undefined) return;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // Node refuses Link values it cannot validate; early hints are advisory, so they are dropped.
  }
}
