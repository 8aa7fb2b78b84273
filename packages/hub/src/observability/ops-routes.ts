import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRoute } from '../admin/index.js';
import type { ShapingGroupStats } from '../shaping/shaper.js';
import type { HubLike, HubMetrics } from './hub-metrics.js';
import { createStatusSource, type HubStatus } from './status.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.js';

export interface OpsHub extends HubLike {
  /** Non-null once the hub listens (the Hub object has it). */
  readonly address?: unknown;
}

export interface OpsRoutesOptions {
  hub: OpsHub;
  /** Serves GET /metrics and the request rate on /status; without it /metrics is 404. */
  metrics?: Pick<HubMetrics, 'metrics' | 'contentType' | 'requestsTotal'> &
    Partial<Pick<HubMetrics, 'serverErrorsTotal'>>;
  /** /readyz also requires at least one agent in the ready state. Default false. */
  requireAgent?: boolean;
  /** Whether the hub is accepting traffic; default: the hub has an address. Return false while draining. */
  isListening?: () => boolean;
  /** A policy summary for /status. */
  policy?: () => unknown;
  /** The shaping groups in force, for /status and the status page. */
  shaping?: () => readonly ShapingGroupStats[];
  /** Application weights (the policy's `apps`), for the per-app rows of /status. */
  appWeight?: (app: string) => number;
  /**
   * When set, /status, /status/events and /metrics require `Authorization: Bearer <token>` here.
   * Leave unset when mounted on the admin server, which checks the token itself.
   */
  token?: string;
  /** Period of the /status/events stream, ms. Default 1000. */
  eventIntervalMs?: number;
  now?: () => number;
}

export interface OpsRoutes {
  /** Answers the ops paths; returns false (and writes nothing) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The same routes for `createAdminServer({ routes })` / `admin.addRoute()`, with their auth needs. */
  adminRoutes(): Record<string, AdminRoute>;
  /** The current /status document. */
  status(): HubStatus;
  /** Ends open /status/events streams (an HTTP server's close() waits for them otherwise). */
  close(): void;
}

/** Paths anyone who can reach the admin port may read: they reveal nothing about traffic or agents. */
const PUBLIC = new Set(['/', '/healthz', '/readyz']);

/**
 * The operations endpoints of the admin port: /metrics, /healthz, /readyz, /status,
 * /status/events (Server-Sent Events) and the status page at /.
 *
 * @example
 * ```ts
 * const ops = createOpsRoutes({ hub, metrics, requireAgent: true });
 * const admin = createAdminServer({ token, engine, routes: ops.adminRoutes() });
 * // or on a bare server: createServer((req, res) => ops.handle(req, res) || notFound(res))
 * ```
 */
export function createOpsRoutes(options: OpsRoutesOptions): OpsRoutes {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { hub, metrics, policy, token } = options;
  if (!hub || typeof hub.agents !== 'function') throw new TypeError('hub must have agents()');
  if (metrics !== undefined && typeof metrics.metrics !== 'function')
    throw new TypeError('metrics must come from createHubMetrics()');
  if (policy !== undefined && typeof policy !== 'function') throw new TypeError('policy must be a function');
  if (token !== undefined && (typeof token !== 'string' || token.length === 0))
    throw new TypeError('token must be a non-empty string');
  const intervalMs = options.eventIntervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10)
    throw new RangeError('eventIntervalMs must be an integer >= 10');
  const requireAgent = options.requireAgent ?? false;
  const isListening = options.isListening ?? (() => hub.address != null);

  const status = createStatusSource({
    hub,
    ...(metrics ? { requestsTotal: () => metrics.requestsTotal() } : {}),
    ...(metrics?.serverErrorsTotal ? { serverErrorsTotal: () => metrics.serverErrorsTotal?.() ?? 0 } : {}),
    ...(policy ? { policy } : {}),
    ...(options.shaping ? { shaping: options.shaping } : {}),
    ...(options.appWeight ? { appWeight: options.appWeight } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const expected = token === undefined ? undefined : digest(token);
  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!), expected);
  };
  const streams = new Set<ServerResponse>();

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/': (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': STATUS_PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(STATUS_PAGE_HTML);
    },
    '/healthz': (_req, res) => json(res, 200, { status: 'ok' }),
    '/readyz': (_req, res) => {
      if (!isListening()) return json(res, 503, { status: 'not-ready', reason: 'hub is not listening' });
      const ready = hub.agents().filter((a) => a.state === 'ready').length;
      if (requireAgent && ready === 0) {
        return json(res, 503, { status: 'not-ready', reason: 'no agent connected', agents: 0 });
      }
      json(res, 200, { status: 'ready', agents: ready });
    },
    '/status': (_req, res) => json(res, 200, status()),
    '/status/events': (req, res) => openStream(req, res),
    '/metrics': (_req, res) => {
      if (!metrics) return json(res, 404, { status: 404, title: 'metrics are not enabled' });
      metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        (err: unknown) =>
          json(res, 500, { status: 500, title: 'cannot collect metrics', detail: String(err) }),
      );
    },
  };

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies such as nginx would otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
      // The connection carries only this stream: when it ends, nothing should wait on it.
      connection: 'close',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    const push = () => {
      res.write(`event: status\ndata: ${JSON.stringify(status())}\n\n`);
    };
    res.write('retry: 2000\n\n');
    push();
    const timer = setInterval(push, intervalMs);
    streams.add(res);
    const socket = res.socket;
    const stop = () => {
      clearInterval(timer);
      streams.delete(res);
      socket?.off('end', leave);
    };
    // A client that half-closes has left; node keeps writing to such a socket until a write fails.
    const leave = () => res.destroy();
    socket?.once('end', leave);
    // res 'close' means the client left or the response ended; req 'close' only means the request
    // was read (at once for a GET), so it must not stop the stream.
    res.once('close', stop);
  }

  function dispatch(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const route = routes[path];
    if (!route) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { status: 405, title: 'Method Not Allowed' });
      return true;
    }
    if (!PUBLIC.has(path) && !authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="slime-admin"');
      json(res, 401, { status: 401, title: 'Unauthorized', detail: 'missing or wrong bearer token' });
      return true;
    }
    route(req, res);
    return true;
  }

  return {
    handle: (req, res) => dispatch(req, res, (req.url ?? '/').split('?', 1)[0] ?? '/'),
    adminRoutes() {
      const out: Record<string, AdminRoute> = {};
      for (const path of Object.keys(routes)) {
        if (path === '/metrics' && !metrics) continue;
        out[path] = {
          handler: (req, res) => {
            dispatch(req, res, path);
          },
          auth: !PUBLIC.has(path),
        };
      }
      return out;
    },
    status,
    close() {
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': status >= 400 && status !== 503 ? 'application/problem+json' : 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
