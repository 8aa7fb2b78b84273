import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the agent: the Agent object satisfies it. */
export interface AgentLike extends EventEmitter {
  readonly activeRequests: number;
  /** Hubs connected right now; without it the gauge follows connected/disconnected events. */
  readonly connectedHubs?: number;
  /** Whether the agent's upstream answers; without it the gauge follows the health events. */
  readonly upstreamHealthy?: boolean;
}

export interface AgentCallResult {
  /** "ok" when the response was relayed whole, else the RESET reason (upstream_error, timeout, cancel...). */
  outcome: string;
  /** Upstream status code, when a response head arrived. */
  status?: number | undefined;
  /** Request sent to upstream response head, ms. */
  latencyMs?: number | undefined;
}

export interface AgentMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

export interface AgentMetrics {
  readonly registry: Registry;
  /** Follows an agent's connected/disconnected events and reads its active calls at scrape time. */
  bind(agent: AgentLike): () => void;
  /** One upstream call ended; call it from UpstreamCall's finish path. */
  callFinished(result: AgentCallResult): void;
  metrics(): Promise<string>;
  readonly contentType: string;
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SAFE = /^[a-z0-9_-]{1,40}$/;
const MAX_OUTCOMES = 50;

/**
 * Prometheus metrics for one agent, in a registry of its own.
 *
 * @example
 * ```ts
 * const metrics = createAgentMetrics();
 * metrics.bind(agent);
 * const server = serveMetrics({ port: 9464, registry: metrics.registry });
 * await server.listen();
 * ```
 */
export function createAgentMetrics(options: AgentMetricsOptions = {}): AgentMetrics {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const bound = new Set<AgentLike>();
  // per agent, 1/0 from its events: for agents that do not report connectedHubs
  const sessionUp = new Map<AgentLike, number>();
  const outcomes = new Set<string>();
  // per agent, from its health events: for agents that do not report upstreamHealthy
  const healthUp = new Map<AgentLike, boolean>();

  const requests = new Counter({
    name: 'slime_agent_requests_total',
    help: 'Upstream calls by outcome (ok or the RESET reason) and upstream status class',
    labelNames: ['outcome', 'status_class'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'slime_agent_upstream_latency_seconds',
    help: 'Time from sending a request upstream to its response head',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  // Read from the bound agents at scrape time.
  const sumOverAgents = (name: string, help: string, value: (a: AgentLike) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        let n = 0;
        for (const a of bound) n += value(a);
        this.set(n);
      },
    });
  const counter = (name: string, help: string) => new Counter({ name, help, registers });
  sumOverAgents('slime_agent_active_calls', 'Upstream calls in progress', (a) => a.activeRequests);
  sumOverAgents(
    'slime_agent_connected',
    'Hubs the agent holds a session with (1 per connected hub)',
    (a) => a.connectedHubs ?? sessionUp.get(a) ?? 0,
  );
  const connects = counter(
    'slime_agent_connects_total',
    'Sessions established with the hub (the first one included)',
  );
  const reconnects = counter(
    'slime_agent_reconnects_total',
    'Sessions established after a previous one was lost',
  );
  const disconnects = counter('slime_agent_disconnects_total', 'Sessions lost or closed');
  const refused = counter(
    'slime_agent_refused_total',
    'Requests handed back to their hub (RESET REFUSED) because every slot was busy, the upstream was down or the agent was draining',
  );
  sumOverAgents(
    'slime_agent_upstream_healthy',
    'Upstreams answering (1 per healthy upstream; 0 while the agent withdraws its slots)',
    (a) => ((a.upstreamHealthy ?? healthUp.get(a) ?? true) ? 1 : 0),
  );
  const healthTransitions = new Counter({
    name: 'slime_agent_upstream_health_transitions_total',
    help: 'Upstream health changes: to="unhealthy" when a call could not connect, to="healthy" when a probe answered',
    labelNames: ['to'] as const,
    registers,
  });
  requests.inc({ outcome: 'ok', status_class: '2xx' }, 0);
  healthTransitions.inc({ to: 'healthy' }, 0);
  healthTransitions.inc({ to: 'unhealthy' }, 0);

  // Outcomes come from code, not input, but a cap keeps a future bug from exploding the series.
  const outcomeLabel = (o: string): string => {
    const v = o.toLowerCase();
    if (!SAFE.test(v)) return 'other';
    if (!outcomes.has(v) && outcomes.size >= MAX_OUTCOMES) return 'other';
    outcomes.add(v);
    return v;
  };

  return {
    registry,
    bind(agent) {
      if (!agent || typeof agent.on !== 'function') throw new TypeError('agent must be an Agent');
      // per hub: an agent with several hubs connects once to each before any reconnect
      const hubsSeen = new Set<string>();
      const onConnected = (_id?: string, hub?: string) => {
        connects.inc();
        if (hubsSeen.has(hub ?? '')) reconnects.inc();
        hubsSeen.add(hub ?? '');
        sessionUp.set(agent, 1);
      };
      const onDisconnected = () => {
        disconnects.inc();
        sessionUp.set(agent, 0);
      };
      const health = (healthy: boolean) => () => {
        healthTransitions.inc({ to: healthy ? 'healthy' : 'unhealthy' });
        healthUp.set(agent, healthy);
      };
      const listeners = Object.entries({
        connected: onConnected,
        disconnected: onDisconnected,
        refused: () => refused.inc(),
        upstreamUnhealthy: health(false),
        upstreamHealthy: health(true),
      });
      for (const [event, listener] of listeners) agent.on(event, listener);
      bound.add(agent);
      return () => {
        for (const [event, listener] of listeners) agent.off(event, listener);
        bound.delete(agent);
        sessionUp.delete(agent);
        healthUp.delete(agent);
      };
    },
    callFinished(result) {
      const status = result.status;
      const cls =
        status !== undefined && Number.isInteger(status) && status >= 100 && status <= 599
          ? `${Math.floor(status / 100)}xx`
          : 'none';
      requests.inc({ outcome: outcomeLabel(result.outcome), status_class: cls });
      if (result.latencyMs !== undefined && result.latencyMs >= 0) latency.observe(result.latencyMs / 1000);
    },
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export interface ServeMetricsOptions {
  port: number;
  /** Default 127.0.0.1: scrapers on other hosts need an explicit address. */
  host?: string;
  registry: Registry;
}

export interface MetricsServer {
  listen(): Promise<AddressInfo>;
  address(): AddressInfo | undefined;
  /** Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A tiny HTTP server for `--metrics-port`: GET /metrics and nothing else. */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { port, host = '127.0.0.1', registry } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError('port must be an integer 0-65535');
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
  if (!(registry instanceof Registry)) throw new TypeError('registry must be a prom-client Registry');

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect metrics\n'),
    );
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
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
    close,
    [Symbol.asyncDispose]: close,
  };
}
