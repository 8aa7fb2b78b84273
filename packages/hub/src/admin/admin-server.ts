import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AGENT_PATH } from '@slime/protocol';
import type { Logger } from 'pino';
import { createPlainListener } from '../http/server-factory.js';
import type { PolicyEngine } from '../policy/index.js';
import type { TlsPair } from '../tls/tls-options.js';
import { policyRoutes, type RouteHandler } from './policy-routes.js';
import { createBearerCheck } from './request.js';
import { AdminError, sendProblem } from './respond.js';

/** A route another part of the hub adds (`/metrics`, `/healthz`, `/status`...). */
export type AdminRoute = RouteHandler | { handler: RouteHandler /** Default true. */; auth?: boolean };

export interface AdminServerOptions {
  /** Default 127.0.0.1: the admin API is for operators, not the network. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  /** Required: clients send `Authorization: Bearer <token>`. */
  token: string;
  engine: PolicyEngine;
  /** Where `PUT /policy` and `POST /update/config` persist the policy; in memory only when absent. */
  policyPath?: string;
  /**
   * Where `engine` itself keeps the policy beyond this process, if anywhere (`redis` for the
   * engine of a policy sync). With neither this nor `policyPath`, change answers say
   * `"persisted": false` with a warning.
   */
  sharedPolicyStore?: string;
  logger?: Logger;
  /** Extra routes by exact path; they answer every method and check it themselves. */
  routes?: Record<string, AdminRoute>;
  /** Largest request body accepted, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Serve HTTPS with this PEM certificate and key (TLS 1.2+); plain HTTP when absent. */
  tls?: TlsPair;
}

export interface AdminServer {
  listen(): Promise<AddressInfo>;
  address(): AddressInfo | undefined;
  /** Adds (or replaces) a route; `/policy` and `/update/config` cannot be replaced. */
  addRoute(path: string, route: AdminRoute): void;
  /** Serves a renewed certificate and key to new connections (with `tls`); throws on a bad pair. */
  reloadTls(pair: TlsPair): void;
  /** Stops accepting, lets requests in progress finish. Idempotent. */
  close(): Promise<void>;
  /** Drops every connection now. */
  destroy(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The admin API on its own HTTP server.
 *
 * @example
 * ```ts
 * await using admin = createAdminServer({ token, engine, policyPath: 'policy.yaml', port: 0 });
 * const { port } = await admin.listen();
 * // curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$port/policy
 * ```
 */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const {
    host = '127.0.0.1',
    port = 8081,
    token,
    engine,
    policyPath,
    logger,
    maxBodyBytes = 1024 * 1024,
  } = options;
  if (typeof token !== 'string' || token.length === 0)
    throw new TypeError('token must be a non-empty string');
  if (typeof host !== 'string') throw new TypeError('host must be a string');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError('port must be an integer 0-65535');
  if (!engine || typeof engine.update !== 'function') throw new TypeError('engine must be a PolicyEngine');
  if (policyPath !== undefined && (typeof policyPath !== 'string' || policyPath.length === 0))
    throw new TypeError('policyPath must be a non-empty string');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw new RangeError('maxBodyBytes must be a positive integer');

  const authorized = createBearerCheck(token);
  const own = policyRoutes({
    engine,
    policyPath,
    sharedStore: options.sharedPolicyStore,
    logger,
    maxBodyBytes,
  });
  const extra = new Map<string, { handler: RouteHandler; auth: boolean }>();
  const addRoute = (path: string, route: AdminRoute) => {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError('route path must start with /');
    if (path in own) throw new TypeError(`route ${path} is built in`);
    const r =
      typeof route === 'function'
        ? { handler: route, auth: true }
        : { handler: route.handler, auth: route.auth ?? true };
    if (typeof r.handler !== 'function') throw new TypeError(`routes[${path}] must be a function`);
    extra.set(path, r);
  };
  for (const [path, route] of Object.entries(options.routes ?? {})) addRoute(path, route);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === AGENT_PATH) {
      // An agent pointed at the admin port: say where it should go instead of a 401 that would
      // read as a refused token.
      throw new AdminError(
        404,
        'ERR_HUB_NOT_FOUND',
        "this is the Slime hub's admin API, not its agent endpoint: agents connect to the hub's client port (--port), not --admin-port",
      );
    }
    const builtIn = own[url.pathname];
    const route = builtIn ? { handler: builtIn, auth: true } : extra.get(url.pathname);
    if (route?.auth !== false && !authorized(req)) {
      throw new AdminError(401, 'ERR_HUB_UNAUTHORIZED', 'missing or wrong bearer token', {
        headers: { 'www-authenticate': 'Bearer realm="slime-admin"' },
      });
    }
    if (!route) throw new AdminError(404, 'ERR_HUB_NOT_FOUND', 'no such admin endpoint');
    await route.handler(req, res, url);
  }

  const listener = createPlainListener(options.tls, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e =
        err instanceof AdminError
          ? err
          : new AdminError(500, 'ERR_HUB_INTERNAL', 'internal error', { cause: err });
      if (e.status >= 500) logger?.error({ err }, 'admin request failed');
      sendProblem(res, e);
    });
  });

  const server: Server = listener.server;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    return closing;
  };

  return {
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    address: () => (server.address() as AddressInfo | null) ?? undefined,
    addRoute,
    reloadTls: (pair) => listener.reloadTls(pair),
    close,
    destroy() {
      void close();
      server.closeAllConnections();
    },
    [Symbol.asyncDispose]: close,
  };
}
