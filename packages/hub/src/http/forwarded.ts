import type { IncomingMessage } from 'node:http';
import { type HeaderList, stripHopByHop } from '@slime/protocol';
import { h2HasBody } from './h2-request.js';

/**
 * How the hub writes X-Forwarded-For: `append` keeps what the client sent (all its fields, joined
 * with ", ") and adds the socket peer on the right; `overwrite` drops the client's value and sends
 * only the socket peer, for upstreams that believe the leftmost entry.
 */
export type XffMode = 'append' | 'overwrite';

export const XFF_MODES: readonly XffMode[] = ['append', 'overwrite'];

/** Fields the hub sets itself or consumes (a module-level function: no closure per request). */
function notForwarded(name: string): boolean {
  return (
    name.startsWith('slime-') ||
    // answered by the hub itself (100 Continue on the first body read)
    name === 'expect' ||
    name === 'x-request-id' ||
    name === 'x-forwarded-proto' ||
    name === 'x-forwarded-host'
  );
}

/**
 * Headers for the upstream: hop-by-hop fields and our own Slime-* controls removed (the Go version
 * leaked the app password upstream), X-Forwarded-* set, X-Request-Id set.
 *
 * X-Forwarded-For always ends with the socket peer, never with the client address resolved through
 * trusted proxies (policy/client-ip.ts, which runs later and only for access rules and limits): the
 * header records the hop this hub saw, and `overwrite` makes it the only one.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  clientIp: string,
  requestId: string,
  xff: XffMode = 'append',
): HeaderList {
  const headers = stripHopByHop(req.rawHeaders, notForwarded);
  let given: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i]![0] === 'x-forwarded-for') {
      given = given === undefined ? headers[i]![1] : `${given}, ${headers[i]![1]}`;
      headers.splice(i--, 1);
    }
  }
  const peer = req.socket.remoteAddress ?? clientIp;
  headers.push(['x-forwarded-for', given && xff === 'append' ? `${given}, ${peer}` : peer]);
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  headers.push(['x-forwarded-proto', proto]);
  if (req.headers.host) headers.push(['x-forwarded-host', req.headers.host]);
  headers.push(['x-request-id', requestId]);
  return headers;
}

/** True when the request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const h2 = h2HasBody(req);
  if (h2 !== undefined) return h2;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}
