import { createHash } from 'node:crypto';
import { type Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { readAll } from './harness.js';

/** One request of the conformance table, sent once straight to httpbin and once through the hub. */
export interface Req {
  method?: Dispatcher.HttpMethod;
  /** Origin-form target; with `raw`, sent as-is and `{origin}` is replaced by the side's base URL. */
  path: string;
  /** Flat name/value pairs, so a name may repeat. */
  headers?: readonly string[];
  /** A Buffer goes out with Content-Length; a stream factory goes out chunked. */
  body?: Buffer | (() => Readable);
  /** Send with node:http instead of undici: undici refuses targets that are not origin-form. */
  raw?: boolean;
}

export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Sides {
  /** httpbin's base URL. */
  direct: string;
  /** The hub's base URL. */
  hub: string;
  dispatcher: Dispatcher;
  /**
   * node:http's pool for `raw` cases, keep-alive like undici's: both clients then send
   * `Connection: keep-alive`, as the agent does upstream, and httpbin's echo of it matches.
   */
  httpAgent: HttpAgent;
}

/**
 * What the hub adds on its way upstream (README: X-Forwarded-For/-Proto/-Host, and X-Request-Id,
 * which httpbin hides from its echoes unless asked with ?show_env). The direct request carries
 * the same fields, so httpbin sees one request on both paths and its echoes (even the gzip,
 * deflate and brotli-compressed ones) compare byte for byte instead of field by field. This is
 * the normalisation of the fields httpbin derives from them:
 * - `origin` is X-Forwarded-For when present, else the socket peer: 127.0.0.1 on both paths, as
 *   the hub's peer is this loopback client;
 * - `url` is X-Forwarded-Proto (http) + Host + target: the agent rewrites Host to the upstream's
 *   host:port by default, which is what the direct request carries, so Host needs nothing;
 * - `headers` shows X-Forwarded-Host, the hub's host:port.
 */
export function forwardedBy(hub: string): string[] {
  return ['x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', new URL(hub).host];
}

/**
 * Asks the hub to queue for a free agent slot instead of answering 503 at once (README,
 * Slime-Block): cases run concurrently and a slot is released a moment after its response ends.
 * Slime-* fields never reach the upstream, so the request httpbin sees is unchanged.
 */
export const HUB_ONLY = ['slime-block', '1'];

export async function send(
  base: string,
  req: Req,
  extra: readonly string[],
  clients: Pick<Sides, 'dispatcher' | 'httpAgent'>,
): Promise<Exchange> {
  const headers = [...(req.headers ?? []), ...extra];
  const body = typeof req.body === 'function' ? req.body() : req.body;
  if (req.raw) return sendRaw(base, req, headers, clients.httpAgent, body);
  const res = await request(`${base}${req.path}`, {
    dispatcher: clients.dispatcher,
    method: req.method ?? 'GET',
    headers,
    ...(body ? { body } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: await readAll(res.body) };
}

function sendRaw(
  base: string,
  req: Req,
  list: readonly string[],
  agent: HttpAgent,
  body?: Buffer | Readable,
): Promise<Exchange> {
  const url = new URL(base);
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const prev = headers[list[i]!];
    headers[list[i]!] = prev === undefined ? list[i + 1]! : [prev, list[i + 1]!].flat();
  }
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method ?? 'GET',
        path: req.path.replaceAll('{origin}', base),
        headers,
        agent,
      },
      (res) => {
        readAll(res).then(
          (body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
          reject,
        );
      },
    );
    r.on('error', reject);
    if (body && !Buffer.isBuffer(body)) body.pipe(r);
    else r.end(body);
  });
}

/** Sends the request both ways, at once unless `sequential`. */
export async function both(
  sides: Sides,
  req: Req & { sequential?: boolean },
): Promise<{ direct: Exchange; hub: Exchange }> {
  const direct = () => send(sides.direct, req, forwardedBy(sides.hub), sides);
  const hub = () => send(sides.hub, req, HUB_ONLY, sides);
  if (req.sequential) return { direct: await direct(), hub: await hub() };
  const [d, h] = await Promise.all([direct(), hub()]);
  return { direct: d, hub: h };
}

/**
 * Fields a proxy may change: hop-by-hop ones (RFC 9110 §7.6.1, plus every proxy-* field), and the
 * ones the hub sets itself (checked separately). `date` is only required to be there.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const HUB_SET = new Set(['x-request-id', 'slime-agent-id']);

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const chunked = (h: IncomingHttpHeaders) => values(h['transfer-encoding']).join(',').includes('chunked');

/** A body as a readable string when small, else its length and hash. */
export function bodyView(body: Buffer): string {
  if (body.length <= 4096) return body.toString('latin1');
  return `${body.length} bytes, sha256 ${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * The parts of a response that must match: status code (the reason phrase is not compared: RFC
 * 9112 §4 lets intermediaries rewrite it and clients ignore it), end-to-end fields with their
 * repeated values in order, and the body bytes. Content-Length is dropped only where the other
 * side framed the same body with chunked encoding instead.
 */
export function view(ex: Exchange, other: Exchange, body: (b: Buffer) => string = bodyView) {
  const headers: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(ex.headers)) {
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || n.startsWith('proxy-') || HUB_SET.has(n)) continue;
    if (n === 'date') headers[n] = ['<present>'];
    else if (
      n === 'content-length' &&
      other.headers['content-length'] === undefined &&
      chunked(other.headers)
    )
      continue;
    else headers[n] = values(v);
  }
  const sorted = Object.fromEntries(Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { status: ex.status, headers: sorted, body: body(ex.body) };
}
