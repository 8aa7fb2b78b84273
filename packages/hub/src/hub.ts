import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CloseCode, Limits } from '@slime/protocol';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { agentUpgradeHandler, isAgentUpgrade } from './agents/agent-upgrade.js';
import { createTokenVerifier } from './agents/tokens.js';
import { createHubDispatch } from './dispatch/hub-dispatch.js';
import { createGoCompat } from './go-compat/go-routes.js';
import { createGoTokenVerifier, withGoTokens } from './go-compat/go-token.js';
import { clientErrorHandler } from './http/client-errors.js';
import { createClientServer } from './http/server-factory.js';
import { serveWithoutUpgrade } from './http/upgrade-offers.js';
import { createAgentLinks } from './hub-agents.js';
import { serveClientRequests } from './hub-requests.js';
import type { Hub, HubAddress, HubInternals } from './hub-types.js';
import { type HubOptions, validateHubOptions } from './options.js';
import { createContext } from './pipeline/create-context.js';
import { buildPipeline } from './pipeline/pipeline.js';
import { GLOBAL_TIMERS, UNREF_TIMERS } from './pipeline/timers.js';
import { createHubTracing } from './tracing/hub-tracing.js';
import { createClientUpgrades } from './upgrade/client-upgrade.js';

export type { Hub, HubAddress, HubInternals, HubPolicySlots } from './hub-types.js';

/**
 * The hub's server: applications send HTTP to it; agents dial `GET /_slime/agent` with a bearer
 * token. `createHub` (create-hub.ts) assembles it with the policy engine, metrics, cluster and
 * admin port; this is the part that serves.
 */
export function createHubServer(options: HubOptions, internals: HubInternals = {}): Hub {
  validateHubOptions(options);
  const now = options.now ?? Date.now;
  const log = options.logger ?? pino({ level: 'silent' });
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const jwtVerifier = createTokenVerifier({
    secret: options.secret,
    ...(options.previousSecrets?.length ? { previousSecrets: options.previousSecrets } : {}),
    now,
    ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}),
  });
  // --accept-go-tokens: Go Slime Proxy tokens are taken too, from our agents and Go agents alike.
  const verifier = options.acceptGoTokens
    ? withGoTokens(
        jwtVerifier,
        createGoTokenVerifier({ secret: options.secret, now, isRevoked: options.isRevoked }),
      )
    : jwtVerifier;

  const timers = internals.timers;
  const background = timers ?? UNREF_TIMERS;
  // Built before the connections exist; `links` and `goCompat` are made below.
  const { dispatcher, outliers } = createHubDispatch(options, internals, {
    now,
    log,
    timers: background,
    *agentsWithId(id) {
      for (const conn of links.connections) if (conn.id === id) yield conn;
      for (const worker of goCompat.workers()) if (worker.id === id) yield worker;
    },
  });
  // OpenTelemetry spans only with a tracer: without one no span object is ever made.
  const tracing = options.tracer ? createHubTracing(options.tracer, now) : undefined;
  const run = buildPipeline({
    dispatcher,
    appPassword: options.appPassword,
    ...(internals.apps ? { apps: internals.apps } : {}),
    now,
    redispatchWaitMs: heartbeatTimeoutMs,
    // An access line holds only fields the hub builds (method, path without its query, status,
    // sizes, ids, client address): nothing to redact, and redaction was most of its cost (~17 of
    // ~20 µs per line with the CLI's paths).
    accessLogger: log.child({}, { redact: { paths: [], censor: '' } }),
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    outliers,
    ...(internals.observe ? { observe: internals.observe } : {}),
    ...(timers ? { timers } : {}),
    ...internals.policies,
    ...(tracing
      ? { shaping: [tracing.shapingStart, ...(internals.policies?.shaping ?? []), tracing.dispatchStart] }
      : {}),
  });

  let state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  let address: HubAddress | null = null;
  let closing: Promise<void> | null = null;
  let stopTicks: (() => void) | undefined;
  /** Application requests whose response has not closed yet; a drain waits for them. */
  let inProgress = 0;
  let onIdle: (() => void) | undefined;
  // The Go agent's long-poll protocol: with --accept-go-tokens its workers join our dispatcher.
  const goCompat = createGoCompat({
    enabled: options.acceptGoTokens === true,
    verifier,
    dispatcher,
    accepting: () => state === 'listening',
    now,
    log: log.child({ protocol: 'go' }),
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 300_000,
    workerIdleMs: heartbeatTimeoutMs,
    keepAliveMs: heartbeatIntervalMs,
    onRefused: internals.onAgentRefused,
    onWorkerAdded: (worker) => outliers.track(worker.id, [...worker.scopes].sort().join(',')),
    onWorkerRemoved: (worker) => outliers.forget(worker.id),
  });

  // HTTP/1.1 and HTTP/2 on one port, optionally over TLS (http/server-factory.ts).
  const listener = createClientServer({
    http: {
      maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
      requestTimeout: 0,
      headersTimeout: 60_000,
      // Checked by requestTarget, so the refusal is problem+json like every other.
      requireHostHeader: false,
      keepAliveTimeout: 65_000,
    },
    tls: options.tls,
    http2: options.http2,
    clientError: clientErrorHandler(log),
    log,
  });
  const server: Server = listener.server;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Limits.MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });

  const links = createAgentLinks(options, internals, {
    now,
    log,
    heartbeatMs: heartbeatIntervalMs,
    heartbeatTimeoutMs,
    dispatcher,
    outliers,
  });
  const { connections } = links;
  const context = (req: IncomingMessage, res: ServerResponse) =>
    createContext(req, res, { log, now, blockTimeoutMs: options.blockTimeoutMs, xff: options.xff });
  serveClientRequests(server, {
    log,
    accepting: () => state === 'listening',
    agentCount: () => connections.size,
    goCompat,
    context,
    tracing,
    run,
    track(res) {
      inProgress++;
      // 'close' comes once: `on` spares the wrapper `once` makes per listener
      res.on('close', () => {
        if (--inProgress === 0) onIdle?.();
      });
    },
  });
  const agentUpgrade = agentUpgradeHandler({
    verifier,
    wss,
    log,
    accepting: () => state === 'listening',
    onRefused: internals.onAgentRefused,
    onAgent: links.add,
  });
  const clientUpgrades = createClientUpgrades({
    maxUpgrades: options.maxUpgrades ?? 1024,
    agents: () => connections,
    context,
    run,
    accepting: () => state === 'listening',
    log,
    observer: internals.onUpgrade,
  });
  // Node gives every request carrying Upgrade to this listener. The agent endpoint is the hub's
  // own; an h2c offer (the Java HttpClient, curl --http2) is ignored and the request served over
  // HTTP/1.1 (RFC 9110 §7.8); any other token (a client WebSocket) is carried to an agent.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (isAgentUpgrade(req)) {
      agentUpgrade(req, socket, head);
      return;
    }
    const protocols = clientUpgrades.protocols(req);
    if (protocols !== null) clientUpgrades.handle(req, socket, head, protocols);
    else serveWithoutUpgrade(server, req, socket, head);
  });

  async function listen(): Promise<HubAddress> {
    if (state !== 'new') throw new Error('hub.listen() can be called once');
    const host = options.host ?? '0.0.0.0';
    // Node's default backlog (511) drops part of a burst of connections (1,000 SSE clients at
    // once): each dropped SYN waits a second for its retransmission. The kernel caps it (somaxconn).
    server.listen(options.port ?? 8080, host, 4096);
    await once(server, 'listening');
    const a = server.address() as AddressInfo;
    const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    const scheme = listener.secure ? 'https' : 'http';
    address = { host: a.address, port: a.port, url: `${scheme}://${shownHost}:${a.port}` };
    state = 'listening';
    stopTicks = links.startHeartbeats(goCompat, background);
    log.info({ url: address.url, host: a.address, port: a.port }, 'hub listening');
    return address;
  }

  async function drain(): Promise<void> {
    state = 'closing';
    log.info({ agents: connections.size, active: dispatcher.active }, 'hub draining');
    // A Go agent submits its answer on a new connection: keep listening until none is awaited.
    goCompat.drain(() => server.close());
    server.closeIdleConnections();
    dispatcher.close();
    for (const conn of connections) conn.goaway('hub shutting down');
    // Woken by the last application response closing, not by polling.
    await new Promise<void>((resolve) => {
      if (inProgress === 0) return resolve();
      // not unref'd: a drain in progress keeps the process up until it ends
      const foreground = timers ?? GLOBAL_TIMERS;
      const done = () => {
        foreground.clear(timer);
        onIdle = undefined;
        resolve();
      };
      const timer = foreground.set(done, drainTimeoutMs);
      onIdle = done;
    });
    finish();
  }

  function finish(): void {
    stopTicks?.();
    outliers.close();
    goCompat.close();
    for (const conn of [...connections]) conn.close(CloseCode.HUB_SHUTDOWN, 'hub shut down');
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    state = 'closed';
  }

  return {
    listen,
    get address() {
      return address;
    },
    agents: () =>
      [...connections, ...goCompat.workers()].map((c) => {
        const o = outliers.snapshot(c.id);
        return { ...c.snapshot(), ejectedUntil: o.ejectedUntil, ejections: o.ejections };
      }),
    closeAgents(match, code, reason) {
      const matched = [...connections].filter((c) => match(c.claims));
      for (const c of matched) c.close(code, reason);
      return matched.length + goCompat.closeAgents(match, reason);
    },
    reloadTls(pair) {
      listener.reloadTls(pair);
      log.info('TLS certificate reloaded');
    },
    get queueLength() {
      return dispatcher.queueLength;
    },
    get activeRequests() {
      return dispatcher.active;
    },
    appStats: () => dispatcher.appStats(),
    close() {
      if (!closing) {
        closing = state === 'listening' ? drain() : Promise.resolve(finish());
      }
      return closing;
    },
    destroy(err?: Error) {
      if (state === 'closed') return;
      if (err) log.error({ err }, 'hub destroyed');
      state = 'closing';
      dispatcher.close();
      server.close();
      finish();
      closing ??= Promise.resolve();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
