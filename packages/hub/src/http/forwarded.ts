import type { IncomingMessage } from 'node:http';
import { type HeaderList, stripHopByHop } from '@slime/protocol';

/**
 * Headers for the upstream: hop-by-hop fields and our own Slime-* controls removed (the Go version
 * leaked the app password upstream), X-Forwarded-* appended, X-Request-Id set.
 */
export function upstreamHeaders(req: IncomingMessage, clientIp: string, requestId: string): HeaderList {
  const headers = stripHopByHop(
    req.rawHeaders,
    (name) =>
      name.startsWith('slime-') ||
      // answered by the hub itself (100 Continue on the first body read)
      name === 'expect' ||
      name === 'x-request-id' ||
      name === 'x-forwarded-proto' ||
      name === 'x-forwarded-host',
  );
  let xff: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i]![0] === 'x-forwarded-for') {
      xff = xff === undefined ? headers[i]![1] : `${xff}, ${headers[i]![1]}`;
      headers.splice(i--, 1);
    }
  }
  const peer = req.socket.remoteAddress ?? clientIp;
  headers.push(['x-forwarded-for', xff ? `${xff}, ${peer}` : peer]);
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  headers.push(['x-forwarded-proto', proto]);
  if (req.headers.host) headers.push(['x-forwarded-host', req.headers.host]);
  headers.push(['x-request-id', requestId]);
  return headers;
}

/** True when the request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}
