import type { IncomingHttpHeaders } from 'node:http';
import type { Policy } from '../pipeline/context.js';
import { createIpSet, type IpSet, normalizeIp, parseIp, rememberLast } from './ip.js';

// A longer chain is garbage or an attack; walking it would only cost time.
const MAX_HOPS = 64;

function forwardedFor(headers: IncomingHttpHeaders): string[] {
  const raw = headers['x-forwarded-for'];
  if (raw === undefined) return [];
  const joined = Array.isArray(raw) ? raw.join(',') : raw;
  return joined
    .split(',')
    .slice(-MAX_HOPS)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const normalizedPeer = rememberLast((peer) => normalizeIp(peer) ?? peer);

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy; then
 * X-Forwarded-For is read from the right, skipping trusted hops, and the first untrusted hop is
 * the client. Entries left of it were written by the client and are never believed. A malformed
 * entry stops the walk at the last trusted hop, which is the best address we can vouch for.
 */
export function resolveClientIp(
  peer: string,
  headers: IncomingHttpHeaders,
  trusted: IpSet | undefined,
): string {
  const peerNorm = normalizedPeer(peer);
  if (!trusted) return peerNorm;
  const peerAddr = parseIp(peer);
  if (peerAddr === undefined || !trusted.has(peerAddr)) return peerNorm;
  let current = peerNorm;
  const hops = forwardedFor(headers);
  for (let i = hops.length - 1; i >= 0; i--) {
    const addr = parseIp(hops[i]!);
    if (addr === undefined) return current;
    current = normalizeIp(hops[i]!)!;
    if (!trusted.has(addr)) return current;
  }
  return current;
}

export interface ClientIpOptions {
  /** IPs or CIDRs whose X-Forwarded-For is believed. */
  trustedProxies?: readonly string[];
}

/** Compiles the trusted-proxy list; throws a TypeError naming a bad entry. */
export function compileTrustedProxies(list: readonly string[] | undefined): IpSet | undefined {
  if (list === undefined || list.length === 0) return undefined;
  if (!Array.isArray(list)) throw new TypeError('trustedProxies must be an array of IPs or CIDRs');
  return createIpSet(list);
}

/**
 * Sets `ctx.clientIp`. Placed before access rules and rate limits so both see the resolved address.
 *
 * @example
 * ```ts
 * const p = clientIpPolicy({ trustedProxies: ['10.0.0.0/8'] });
 * ```
 */
export function clientIpPolicy(options: ClientIpOptions = {}): Policy {
  const trusted = compileTrustedProxies(options.trustedProxies);
  return async function clientIp(ctx, next) {
    ctx.clientIp = resolveClientIp(ctx.req.socket.remoteAddress ?? ctx.clientIp, ctx.req.headers, trusted);
    await next();
  };
}
