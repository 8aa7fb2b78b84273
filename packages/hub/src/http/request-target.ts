import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { HubError } from '../errors.js';

const ABSOLUTE = /^https?:\/\/([^/?#]*)([^#]*)/i;
// RFC 3986 §3.2.2 reg-name: unreserved / pct-encoded / sub-delims (an IPv4 address is one too)
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
// RFC 3986 §3.2.2 IPvFuture, inside the brackets
const IP_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;

/**
 * RFC 9110 §7.2 `Host = uri-host [ ":" port ]`: a reg-name or IPv4 address, or an IPv6 (or
 * IPvFuture) literal in brackets, then an optional port of digits up to 65535. No userinfo, path,
 * query, spaces or second port. An empty value is allowed, as the grammar allows (RFC 9112 §3.2).
 */
export function isValidHost(value: string): boolean {
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    const literal = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    if (rest !== '') port = rest.slice(1);
    // node's isIPv6 takes a zone id (`%eth0`), which RFC 3986 has no syntax for
    if (!IP_FUTURE.test(literal) && (literal.includes('%') || !isIPv6(literal))) return false;
  } else {
    const colon = value.indexOf(':');
    if (colon !== -1) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!REG_NAME.test(host)) return false;
  }
  // RFC 3986 allows an empty port ("host:"); a number beyond 16 bits names no port
  return port === undefined || (/^\d{0,5}$/.test(port) && Number(port) <= 65535);
}

/**
 * The request's target in the form the upstream will see, checked as RFC 9112 §3 asks of a server:
 *
 * - origin-form (`/path?q`) as it came;
 * - asterisk-form (`*`) for OPTIONS only;
 * - absolute-form (`http://host/path?q`, which a server MUST accept, §3.2.2) becomes origin-form,
 *   and its authority replaces Host, which the server MUST then ignore;
 * - an HTTP/1.1 request needs exactly one Host field (§3.2), and a Host must be `host[:port]`
 *   ({@link isValidHost}).
 *
 * Mutates `req.headers.host` and `req.rawHeaders` for an absolute-form target, so everything
 * downstream (X-Forwarded-Host, the agent's Host) sees the authority the client addressed.
 * Throws HubError(400) for anything else.
 */
export function requestTarget(req: IncomingMessage): string {
  // HTTP/2 streams arrive adapted (http/h2-request.ts): a Host from :authority, no pseudo-fields
  if (req.httpVersionMajor !== 1 && req.httpVersionMajor !== 2) {
    throw new HubError('ERR_HUB_HTTP_VERSION', 'only HTTP/1.0 and HTTP/1.1 are served on this port');
  }
  const url = req.url ?? '/';
  let target = url;
  if (url === '*') {
    if (req.method !== 'OPTIONS') throw malformed('the target * is only for OPTIONS');
  } else if (!url.startsWith('/')) {
    const m = ABSOLUTE.exec(url);
    if (!m) throw malformed('request target must be a path, an absolute http(s) URL, or * for OPTIONS');
    const authority = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
    if (authority === '') throw malformed('absolute request target has no host');
    target = m[2] === '' ? '/' : m[2]!.startsWith('?') ? `/${m[2]}` : m[2]!;
    replaceHost(req, authority);
  }
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) throw malformed('more than one Host field');
  if (hosts === 0 && req.httpVersionMinor === 1 && req.httpVersionMajor === 1) {
    throw malformed('HTTP/1.1 request without a Host field');
  }
  // The value goes upstream as X-Forwarded-Host and, with --preserve-host, as Host: refuse what
  // is not a host (userinfo, a path, spaces, a bad port) rather than pass it on (RFC 9112 §3.2).
  const host = req.headers.host;
  if (host !== undefined && !isValidHost(host)) throw malformed('the Host field is not a valid host[:port]');
  return target;
}

function replaceHost(req: IncomingMessage, authority: string): void {
  const raw = req.rawHeaders;
  let replaced = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'host') continue;
    if (!replaced) {
      raw[i + 1] = authority;
      replaced = true;
    } else {
      raw.splice(i, 2);
      i -= 2;
    }
  }
  if (!replaced) raw.push('Host', authority);
  req.headers.host = authority;
}

function malformed(message: string): HubError {
  return new HubError('ERR_HUB_MALFORMED_REQUEST', message);
}

/**
 * `Expect: 100-continue`: the hub answers the expectation itself, and only when the request's body
 * is first read, i.e. once the request passed authentication, access rules and limits. A refused
 * request is answered before the client uploads anything. The upstream never sees `Expect`.
 */
export function continueOnFirstRead(req: IncomingMessage, res: ServerResponse): void {
  const stream = req as IncomingMessage & { _read: (n: number) => void };
  const read = stream._read;
  stream._read = function (this: IncomingMessage, n: number) {
    stream._read = read;
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
    read.call(this, n);
  };
}
