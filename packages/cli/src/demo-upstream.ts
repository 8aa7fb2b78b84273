import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createFragileEndpoint,
  DEFAULT_FRAGILE,
  type FragileEndpoint,
  type FragileModel,
} from './fragile-endpoint.js';

export interface DemoUpstream {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** The `/fragile` endpoint, for its counters. */
  readonly fragile: FragileEndpoint;
  close(): Promise<void>;
}

export interface DemoUpstreamOptions {
  /** How `/fragile` breaks under load. Default: 8 at once, 100 ms, 8 queued, then 500s. */
  fragile?: Partial<FragileModel>;
}

const MAX_SLOW_MS = 60_000;
const MAX_EVENTS = 1000;
const MAX_ECHO_BYTES = 1024 * 1024;

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const v = Number(url.searchParams.get(name) ?? fallback);
  return Number.isFinite(v) && v >= 0 ? Math.min(Math.floor(v), max) : fallback;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** GET /slow?ms=N: answers after N ms, to watch queueing, Slime-Block and graceful drain. */
function slow(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const ms = intParam(url, 'ms', 1000, MAX_SLOW_MS);
  const timer = setTimeout(() => json(res, 200, { sleptMs: ms }), ms);
  // a client that leaves (or an agent that aborts) frees the timer at once
  res.on('close', () => clearTimeout(timer));
  req.resume();
}

/** GET /events?n=N&interval=MS: server-sent events, to see chunks arrive one by one. */
function events(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const n = intParam(url, 'n', 5, MAX_EVENTS);
  const interval = intParam(url, 'interval', 200, MAX_SLOW_MS);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sent = 0;
  const tick = () => {
    sent += 1;
    res.write(
      `id: ${sent}\nevent: tick\ndata: ${JSON.stringify({ n: sent, of: n, at: new Date().toISOString() })}\n\n`,
    );
    if (sent >= n) {
      clearInterval(timer);
      res.end();
    }
  };
  const timer = setInterval(tick, interval);
  res.on('close', () => clearInterval(timer));
  req.resume();
  if (n === 0) {
    clearInterval(timer);
    res.end();
  }
}

/** Anything else: the request as JSON (method, path, query, headers, body as text). */
function echo(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_ECHO_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    json(res, 200, {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      bodyBytes: size,
    });
  });
}

/**
 * The upstream `slime demo` puts behind its agent: an echo, a slow endpoint, an SSE stream and a
 * fragile endpoint that collapses into 500s under load (to watch shaping), on 127.0.0.1 and a
 * free port.
 */
export async function startDemoUpstream(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const fragile = createFragileEndpoint({ ...DEFAULT_FRAGILE, ...options.fragile });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    if (url.pathname === '/fragile') fragile.handle(req, res);
    else if (url.pathname === '/fragile/stats') json(res, 200, { ...fragile.model, ...fragile.stats() });
    else if (url.pathname === '/slow') slow(req, res, url);
    else if (url.pathname === '/events') events(req, res, url);
    else echo(req, res, url);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fragile,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
