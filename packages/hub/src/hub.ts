import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AGENT_PATH, CloseCode, DEFAULT_STREAM_WINDOW, Limits } from '@slime/protocol';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { AgentConnection, type AgentSnapshot } from './agents/agent-connection.js';
import { agentUpgradeHandler, isAgentUpgrade } from './agents/agent-upgrade.js';
import { HEARTBEAT_SLICES, HeartbeatSweep, heartbeatTickMs } from './agents/heartbeat.js';
import { createTokenVerifier } from './agents/tokens.js';
import type { AppDirectory } from './apps/app-directory.js';
import { shareOf } from './dispatch/app-share.js';
import { Dispatcher, type DispatcherOptions } from './dispatch/dispatcher.js';
import { createOutlierDetector } from './dispatch/outlier-ejection.js';
import { HubError } from './errors.js';
import { createGoCompat, isGoAgentCall } from './go-compat/go-routes.js';
import { createGoTokenVerifier, withGoTokens } from './go-compat/go-token.js';
import { clientErrorHandler, writeRawProblem } from './http/client-errors.js';
import { writeError } from './http/problem.js';
import { continueOnFirstRead } from './http/request-target.js';
import { createClientServer } from './http/server-factory.js';
import { serveWithoutUpgrade } from './http/upgrade-offers.js';
import { type HubOptions, validateHubOptions } from './options.js';
import type { Policy, RequestContext } from './pipeline/context.js';
import { createContext } from './pipeline/create-context.js';
import { buildPipeline } from './pipeline/pipeline.js';
import type { RequestObserver } from './pipeline/policies/access-log.js';
import type { TlsPair } from './tls/tls-options.js';
import { createHubTracing } from './tracing/hub-tracing.js';
import { createClientUpgrades } from './upgrade/client-upgrade.js';
import type { UpgradeObserver } from './upgrade/upgrade-types.js';

// An agent id may travel in Slime-Agent-Id and logs: a short token, nothing that needs quoting.
const AGENT_ID = /^[A-Za-z0-9._:@-]{1,64}$/;

export interface HubAddress {
  host: string;
  port: number;
  /** http(s)://host:port, for applications; agents dial the same with ws(s)://. */
  url: string;
}

/** Policies the hub runs in its pipeline slots (from the policy engine, shaping...). */
export interface HubPolicySlots {
  access?: Policy[];
  rateLimits?: Policy[];
  router?: Policy[];
  fallback?: Policy[];
  shaping?: Policy[];
}

export interface Hub {
  listen(): Promise<HubAddress>;
  readonly address: HubAddress | null;
  /** Connected agents, for /status. */
  agents(): AgentSnapshot[];
  /** Closes the connected agents whose token claims match (a revoked token); returns how many. */
  closeAgents(
    match: (claims: AgentConnection['claims']) => boolean,
    code: Parameters<AgentConnection['close']>[0],
    reason: string,
  ): number;
  readonly queueLength: number;
  readonly activeRequests: number;
  /** Per application: requests in flight, waiting and served (for status and metrics). */
  appStats(): { app: string; inFlight: number; queued: number; served: number }[];
  /** Serves a renewed certificate and key to new connections (TLS hubs); throws on a bad pair. */
  reloadTls(pair: TlsPair): void;
  /** Graceful: stop accepting, GOAWAY to agents, let in-flight requests finish (up to drainTimeoutMs). */
  close(): Promise<void>;
  /** Immediate: drop every connection. */
  destroy(err?: Error): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface HubInternals {
  /** Policies for the pipeline slots; fixed at creation (a policy engine swaps rules inside them). */
  policies?: HubPolicySlots;
  observe?: RequestObserver;
  /** hub<->agent WebSocket payload bytes. */
  onAgentBytes?: (direction: 'to_agent' | 'from_agent', bytes: number) => void;
  /** Lifecycle hooks for metrics and status. */
  onAgentConnected?: (agent: AgentConnection) => void;
  onAgentClosed?: (agent: AgentConnection, code: number, reason: string) => void;
  /** An agent's upgrade was refused by the token check; `reason` is the TokenRejection or "error". */
  onAgentRefused?: (reason: string) => void;
  /** An agent's response broke its framing (see ResponseFraming). */
  onFramingViolation?: (agent: AgentConnection, problem: string) => void;
  /** Queue waits and how they ended (the dispatcher's onWait), for metrics. */
  onWait?: DispatcherOptions['onWait'];
  /** An agent's STATUS changed its upstream's health. */
  onUpstreamHealth?: (agent: AgentConnection, healthy: boolean) => void;
  /** Passive outlier ejection took an agent out of dispatch until `untilMs`. */
  onAgentEjected?: (agentId: string, untilMs: number, reason: string) => void;
  /** Client upgrades (WebSockets to upstreams): how they were answered, ended, and their bytes. */
  onUpgrade?: UpgradeObserver;
  /** The applications in force (the policy engine's `apps`): keys, weights, queue limits. */
  apps?: () => AppDirectory;
}

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

  // Built before the connections exist; `connections` is filled below.
  const outliers = createOutlierDetector(options.outlierDetection ?? {}, {
    now,
    setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
    onEject: (agentId, untilMs, reason) => {
      log.warn(
        { agent: agentId, until: new Date(untilMs).toISOString(), reason },
        'agent ejected from dispatch',
      );
      internals.onAgentEjected?.(agentId, untilMs, reason);
    },
    onReturn: (agentId) => {
      for (const conn of connections) if (conn.id === agentId) dispatcher.capacity(conn);
      for (const worker of goCompat.workers()) if (worker.id === agentId) dispatcher.capacity(worker);
    },
  });
  const dispatcher = new Dispatcher({
    isEjected: (agent) => outliers.isEjected(agent.id),
    concurrent: options.concurrent,
    maxQueue: options.maxQueue ?? 10_000,
    now,
    log,
    ...(internals.onWait ? { onWait: internals.onWait } : {}),
    ...(internals.apps ? { share: shareOf(internals.apps) } : {}),
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
    ...internals.policies,
    ...(tracing
      ? { shaping: [tracing.shapingStart, ...(internals.policies?.shaping ?? []), tracing.dispatchStart] }
      : {}),
  });

  const connections = new Set<AgentConnection>();
  let nextAgent = 0;
  let state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  let address: HubAddress | null = null;
  let closing: Promise<void> | null = null;
  let ticker: NodeJS.Timeout | undefined;
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
    log,
  });
  const server: Server = listener.server;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Limits.MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });

  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    continueOnFirstRead(req, res);
    server.emit('request', req, res);
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    writeError(res, new HubError('ERR_HUB_EXPECTATION_FAILED', 'only Expect: 100-continue is supported'));
  });
  // A reverse proxy has no tunnels to offer; Node would reset the connection without a listener.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    writeRawProblem(
      socket,
      new HubError('ERR_HUB_METHOD_NOT_ALLOWED', 'CONNECT is not served: this is a reverse proxy'),
    );
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A Go agent's call (POST with Slime-Agent-Token): served with --accept-go-tokens, else refused.
    if (isGoAgentCall(req)) {
      goCompat.handle(req, res);
      return;
    }
    if (state !== 'listening') {
      res.setHeader('connection', 'close');
      writeError(res, new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 }));
      return;
    }
    const path = req.url?.split('?', 1)[0];
    if (path === '/_slime/health') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'ok', agents: connections.size }));
      return;
    }
    if (path === AGENT_PATH) {
      writeError(res, new HubError('ERR_HUB_BAD_REQUEST', 'agents must connect with a WebSocket upgrade'));
      return;
    }
    let ctx: RequestContext;
    try {
      ctx = createContext(req, res, { log, now, blockTimeoutMs: options.blockTimeoutMs, xff: options.xff });
    } catch (err) {
      writeError(res, err);
      return;
    }
    tracing?.startRequest(ctx);
    inProgress++;
    res.once('close', () => {
      if (--inProgress === 0) onIdle?.();
    });
    run(ctx).catch((err: unknown) => {
      log.error({ err }, 'pipeline failed outside the error boundary');
      res.destroy();
    });
  });

  server.on('clientError', clientErrorHandler(log));
  const agentUpgrade = agentUpgradeHandler({
    verifier,
    wss,
    log,
    accepting: () => state === 'listening',
    onRefused: internals.onAgentRefused,
    onAgent: (ws, claims, req) => {
      const id = connectionId(req.headers['slime-agent-id'], claims.sub);
      const conn = new AgentConnection(ws, {
        id,
        claims,
        remoteAddress: req.socket.remoteAddress ?? '',
        hubWindow: options.streamWindow ?? DEFAULT_STREAM_WINDOW,
        heartbeatMs: heartbeatIntervalMs,
        heartbeatTimeoutMs,
        helloTimeoutMs: 10_000,
        streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 300_000,
        now,
        log: log.child({ agent: id }),
        onCapacity: (c) => dispatcher.capacity(c),
        ...(internals.onAgentBytes ? { onBytes: internals.onAgentBytes } : {}),
        ...(internals.onFramingViolation ? { onFramingViolation: internals.onFramingViolation } : {}),
        ...(internals.onUpstreamHealth ? { onUpstreamHealth: internals.onUpstreamHealth } : {}),
        onClosed: (c, code, reason) => {
          connections.delete(c);
          outliers.forget(c.id);
          dispatcher.remove(c);
          internals.onAgentClosed?.(c, code, reason);
        },
      });
      connections.add(conn);
      // Agents serving the same scopes form a group: ejection never empties a group beyond its share.
      outliers.track(id, [...conn.scopes].sort().join(','));
      internals.onAgentConnected?.(conn);
    },
  });
  const clientUpgrades = createClientUpgrades({
    maxUpgrades: options.maxUpgrades ?? 1024,
    agents: () => connections,
    context: (req, res) =>
      createContext(req, res, { log, now, blockTimeoutMs: options.blockTimeoutMs, xff: options.xff }),
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

  /**
   * The id a connection is known by (status, logs, Slime-Agent-Id): the agent's own --agentID when
   * it sent one that is free, else `<name>#<n>`. Ids stay unique among connected agents.
   */
  function connectionId(asked: string | string[] | undefined, name: string): string {
    const n = ++nextAgent;
    const wanted = typeof asked === 'string' && AGENT_ID.test(asked) ? asked : undefined;
    if (wanted === undefined) return `${name}#${n}`;
    const taken = (id: string) => [...connections].some((c) => c.id === id);
    return taken(wanted) ? `${wanted}#${n}` : wanted;
  }

  // Each tick's agents are checked a slice at a time (HeartbeatSweep), spread over the tick.
  const sweep = new HeartbeatSweep(connections);
  let slice = 0;
  function tick(): void {
    const t = now();
    sweep.step((conn) => conn.tick(t));
    if (++slice % HEARTBEAT_SLICES === 0) goCompat.tick(t);
  }

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
    ticker = setInterval(tick, heartbeatTickMs(heartbeatIntervalMs, heartbeatTimeoutMs) / HEARTBEAT_SLICES);
    ticker.unref();
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
      const done = () => {
        clearTimeout(timer);
        onIdle = undefined;
        resolve();
      };
      const timer = setTimeout(done, drainTimeoutMs);
      onIdle = done;
    });
    finish();
  }

  function finish(): void {
    if (ticker) clearInterval(ticker);
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
