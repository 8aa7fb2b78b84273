import { isHopByHop, isWritableFieldValue, type RequestFrame } from '@slime/protocol';
import type { UpstreamTarget } from './options.js';

/** A request as the upstream client will send it. */
export interface UpstreamRequest {
  method: string;
  /** Origin-form path and query, or `*` (asterisk-form, OPTIONS only). */
  path: string;
  /** Flat [name, value, ...] list, lower-case names. */
  headers: string[];
}

/** The request cannot be expressed on the upstream's wire; the hub should have refused it. */
export class UnsendableRequestError extends Error {
  override readonly name = 'UnsendableRequestError';
}

/**
 * Besides the hop-by-hop fields (protocol's list, which undici manages itself or refuses), two
 * fields never go upstream: `expect`, which the hub answers itself (the upstream sees a plain
 * body), and an h2c offer's `http2-settings`. `host` and `content-length` are handled below.
 */
const DROPPED: ReadonlySet<string> = new Set(['expect', 'http2-settings']);

// What undici accepts in a path: visible Latin-1 only.
const BAD_PATH = /[^\u0021-\u00ff]/;
const CONTENT_LENGTH = /^\d{1,15}$/;

/**
 * Translates a REQUEST frame into what the upstream client can send, dropping what it would refuse
 * instead of letting it throw: every field undici rejects synchronously is either dropped here
 * (hop-by-hop, `expect`) or reported as UnsendableRequestError, so a refusal is an error for that
 * one request and never reaches the connection.
 */
export function upstreamRequest(
  frame: RequestFrame,
  target: UpstreamTarget,
  preserveHost: boolean,
  /** Protocol 3: `te: trailers` and the `trailer` announcement go through (the caller frames them). */
  trailers = false,
): UpstreamRequest {
  let named: Set<string> | undefined;
  for (const [name, value] of frame.headers) {
    if (name !== 'connection') continue;
    named ??= new Set();
    for (const token of value.split(',')) named.add(token.trim().toLowerCase());
  }
  const headers: string[] = [];
  let host: string | undefined;
  let contentLength: string | undefined;
  let hasAuth = false;
  for (const [name, value] of frame.headers) {
    const passed = trailers && ((name === 'te' && value === 'trailers') || name === 'trailer');
    if (!passed && (isHopByHop(name) || DROPPED.has(name) || named?.has(name))) continue;
    if (!isWritableFieldValue(value))
      throw new UnsendableRequestError(`header ${name} has a control character`);
    if (name === 'host') {
      if (host !== undefined && host !== value) throw new UnsendableRequestError('more than one Host header');
      host = value;
      continue;
    }
    if (name === 'content-length') {
      if (!CONTENT_LENGTH.test(value)) throw new UnsendableRequestError('malformed Content-Length');
      if (contentLength !== undefined && contentLength !== value) {
        throw new UnsendableRequestError('conflicting Content-Length headers');
      }
      contentLength = value;
      continue;
    }
    if (name === 'authorization') hasAuth = true;
    headers.push(name, value);
  }
  if (preserveHost && host !== undefined) headers.push('host', host);
  if (contentLength !== undefined) headers.push('content-length', contentLength);
  if (target.authorization && !hasAuth) headers.push('authorization', target.authorization);

  let path: string;
  if (frame.target === '*') {
    // An upstream under a path prefix is asked about that path; a bare origin about itself.
    path = target.prefix || '*';
  } else {
    path = target.prefix + frame.target;
  }
  if (path !== '*' && (!path.startsWith('/') || BAD_PATH.test(path))) {
    throw new UnsendableRequestError('request target is not a valid origin-form path');
  }
  return { method: frame.method, path, headers };
}
