import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentConnection, AgentSnapshot } from '../agents/agent-connection.js';
import { isGoClaims } from '../go-compat/go-token.js';
import type { RequestObserver } from '../pipeline/policies/access-log.js';
import { createUpgradeMetrics } from '../upgrade/upgrade-metrics.js';
import type { UpgradeObserver } from '../upgrade/upgrade-types.js';
import { registerAppMetrics } from './app-metrics.js';
import { ANY_SCOPE, boundedLabel, closeReasonLabel, statusClass } from './labels.js';
import { registerShapingGauges, type ShapingStatsSource, shapingGroupLabel } from './shaping-metrics.js';

/** What the metrics read at scrape time; the Hub object satisfies it. */
export interface HubLike {
  agents(): AgentSnapshot[];
  readonly queueLength: number;
  readonly activeRequests: number;
  /** Per application: in flight, waiting, served (absent on hubs built before applications). */
  appStats?(): { app: string; inFlight: number; queued: number; served: number }[];
}

/** The hub, or a getter for it: metrics are created before the hub they observe (they are its hooks). */
export type HubSource = HubLike | (() => HubLike | null | undefined);

export type QueueWaitOutcome = 'dispatched' | 'timeout' | 'client-gone' | 'no-agent' | 'shutdown' | 'shed';
export type AgentBytesDirection = 'to_agent' | 'from_agent';

export interface HubMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Most distinct values per free-text label (outcome, rule, group) before "other". Default 100. */
  maxLabelValues?: number;
}

export interface HubMetrics {
  readonly registry: Registry;
  /** For `internals.observe`: once per application request. */
  readonly observe: RequestObserver;
  /** For the dispatcher's `onWait`: how long a request waited in the queue and how that ended. */
  onWait(ms: number, outcome: QueueWaitOutcome): void;
  onAgentConnected(agent: AgentConnection | unknown): void;
  onAgentClosed(agent: AgentConnection | unknown, code: number, reason?: string): void;
  /** An agent's upgrade was refused (bad token...); reason is the TokenRejection. */
  agentRefused(reason: string): void;
  /** Frame bytes on agent WebSockets: AgentConnection.send (to_agent) and #onMessage (from_agent). */
  agentBytes(direction: AgentBytesDirection, bytes: number): void;
  /** An agent's response broke its framing (stream reset, client connection closed). */
  framingViolation(): void;
  /** Outlier ejection took an agent out of dispatch. */
  agentEjected(): void;
  /** For `internals.onUpgrade`: client upgrades (WebSockets) answered, ended, and their bytes. */
  readonly upgrades: UpgradeObserver;
  /** An agent's STATUS changed its upstream's health. */
  upstreamHealth(agent: unknown, healthy: boolean): void;
  /** A rate limit refused a request; `rule` is the rule's name from the policy file. */
  rateLimited(rule: string): void;
  fallbackAttempt(outcome: string): void;
  /** Where the shaping gauges read at scrape time (the engine's shaping section in force). */
  shapingSource(source: ShapingStatsSource | undefined): void;
  /** A shaped group refused a request at its limit (the shaping section's onRejected). */
  shapingRejected(group: string): void;
  /** Application requests observed so far (for the status page's request rate). */
  requestsTotal(): number;
  /** Of those, the ones answered 5xx (for the status page's error share). */
  serverErrorsTotal(): number;
  /** The text exposition format, for GET /metrics. */
  metrics(): Promise<string>;
  readonly contentType: string;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics for one hub, in a registry of its own (prom-client throws on a duplicate
 * name, and two hubs in one process must not share counters).
 *
 * `createHub` makes one per hub and wires it as the server's hooks (`hub.metrics`).
 *
 * @example
 * ```ts
 * let server: Hub | undefined;
 * const metrics = createHubMetrics(() => server);
 * server = createHubServer(options, { observe: metrics.observe, onWait: metrics.onWait });
 * ```
 */
export function createHubMetrics(source: HubSource, options: HubMetricsOptions = {}): HubMetrics {
  if (typeof source !== 'function' && (typeof source !== 'object' || source === null)) {
    throw new TypeError('source must be a hub or a function returning the hub');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const maxLabelValues = options.maxLabelValues ?? 100;
  if (!Number.isInteger(maxLabelValues) || maxLabelValues < 1) {
    throw new RangeError('maxLabelValues must be a positive integer');
  }
  const hub = (): HubLike | null | undefined => (typeof source === 'function' ? source() : source);
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const outcomeLabel = boundedLabel(maxLabelValues);
  const ruleLabel = boundedLabel(maxLabelValues);
  const groupLabel = boundedLabel(maxLabelValues);
  const fallbackLabel = boundedLabel(maxLabelValues);
  const refusedLabel = boundedLabel(maxLabelValues);

  const requests = new Counter({
    name: 'slime_requests_total',
    help: 'Application requests by outcome (ok, aborted or an error code) and status class',
    labelNames: ['outcome', 'status_class'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'slime_request_duration_seconds',
    help: 'Application request duration, end to end (arrival to the last response byte)',
    labelNames: ['status_class'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const ttfb = new Histogram({
    name: 'slime_request_ttfb_seconds',
    help: 'Time from request arrival to the response head being sent',
    buckets: DURATION_BUCKETS,
    registers,
  });
  const responseBytes = new Counter({
    name: 'slime_response_bytes_total',
    help: 'Bytes written to applications (heads and bodies)',
    registers,
  });
  new Gauge({
    name: 'slime_queue_length',
    help: 'Requests waiting for an agent or a --concurrent slot',
    registers,
    collect() {
      this.set(hub()?.queueLength ?? 0);
    },
  });
  new Gauge({
    name: 'slime_active_requests',
    help: 'Requests dispatched to an agent and not finished',
    registers,
    collect() {
      this.set(hub()?.activeRequests ?? 0);
    },
  });
  const queueWait = new Histogram({
    name: 'slime_queue_wait_seconds',
    help: 'Time requests spent in the wait queue, by how the wait ended',
    labelNames: ['outcome'] as const,
    buckets: WAIT_BUCKETS,
    registers,
  });
  // Both gauges are filled together from one snapshot; each collect() refills both so that either
  // can be read alone (getSingleMetric) and a scope whose last agent left drops out instead of going stale.
  const fillAgentGauges = () => {
    agentsGauge.reset();
    slotsGauge.reset();
    for (const a of hub()?.agents() ?? []) {
      if (a.state === 'closed') continue;
      const used = a.inFlight;
      const free = a.state === 'ready' ? Math.max(0, a.slots - a.inFlight) : 0;
      for (const scope of a.scopes.length > 0 ? a.scopes : [ANY_SCOPE]) {
        agentsGauge.inc({ scope }, 1);
        slotsGauge.inc({ scope, state: 'used' }, used);
        slotsGauge.inc({ scope, state: 'free' }, free);
      }
    }
  };
  const agentsGauge: Gauge<'scope'> = new Gauge({
    name: 'slime_agents',
    help: 'Connected agents per scope ("_any" = unscoped token); an agent with two scopes counts in both',
    labelNames: ['scope'] as const,
    registers,
    collect: fillAgentGauges,
  });
  const slotsGauge: Gauge<'scope' | 'state'> = new Gauge({
    name: 'slime_agent_slots',
    help: 'Worker slots of connected agents per scope: used = in flight, free = announced minus used',
    labelNames: ['scope', 'state'] as const,
    registers,
    collect: fillAgentGauges,
  });
  new Gauge({
    name: 'slime_go_agents',
    help: 'Agents still on the Go Slime Proxy (--accept-go-tokens): via="long-poll" counts Go agent workers on its protocol, via="go-token" our agents connected with a Go token; remove the flag once both are 0',
    labelNames: ['via'] as const,
    registers,
    collect() {
      let poll = 0;
      let token = 0;
      for (const a of hub()?.agents() ?? []) {
        if (a.state === 'closed') continue;
        if ((a as { protocol?: string }).protocol === 'go') poll++;
        else if (typeof a.jti === 'string' && isGoClaims(a)) token++;
      }
      this.set({ via: 'long-poll' }, poll);
      this.set({ via: 'go-token' }, token);
    },
  });
  const agentBytes = new Counter({
    name: 'slime_agent_bytes_total',
    help: 'WebSocket frame bytes between the hub and its agents',
    labelNames: ['direction'] as const,
    registers,
  });
  const connections = new Counter({
    name: 'slime_agent_connections_total',
    help: 'Agent connection events: connected, disconnected (reason from the close code), refused (token check)',
    labelNames: ['event', 'reason'] as const,
    registers,
  });
  const framing = new Counter({
    name: 'slime_agent_framing_violations_total',
    help: 'Agent responses whose body broke their own framing (Content-Length, HEAD/204/304): stream reset, client connection closed',
    registers,
  });
  const ejections = new Counter({
    name: 'slime_agent_ejections_total',
    help: 'Agents taken out of dispatch by passive outlier ejection (consecutive connect failures or 5xx)',
    registers,
  });
  const upstreamTransitions = new Counter({
    name: 'slime_agent_upstream_transitions_total',
    help: "Agents' upstream health changes, as their STATUS frames report them",
    labelNames: ['to'] as const,
    registers,
  });
  const denied = new Counter({
    name: 'slime_policy_denied_total',
    help: 'Requests refused by an access rule (403)',
    registers,
  });
  const limited = new Counter({
    name: 'slime_ratelimit_limited_total',
    help: 'Requests refused by a rate limit, by rule name',
    labelNames: ['rule'] as const,
    registers,
  });
  const fallback = new Counter({
    name: 'slime_fallback_attempts_total',
    help: 'Fallback endpoint attempts by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  let shapingStats: ShapingStatsSource | undefined;
  registerShapingGauges(registers, groupLabel, () => shapingStats);
  const shapingRejected = new Counter({
    name: 'slime_shaping_rejected_total',
    help: 'Requests refused by the shaping limiter per agent group',
    labelNames: ['group'] as const,
    registers,
  });
  // Series with no observation yet still show up, so dashboards and alerts see 0 instead of nothing.
  for (const direction of ['to_agent', 'from_agent']) agentBytes.inc({ direction }, 0);
  requests.inc({ outcome: 'ok', status_class: '2xx' }, 0);
  framing.inc(0);
  ejections.inc(0);
  for (const to of ['healthy', 'unhealthy']) upstreamTransitions.inc({ to }, 0);

  let observed = 0;
  let serverErrors = 0;
  const observeApp = registerAppMetrics(registry, hub, maxLabelValues);
  const observe: RequestObserver = (e) => {
    observed++;
    observeApp(e);
    const cls = statusClass(e.status);
    if (cls === '5xx') serverErrors++;
    requests.inc({ outcome: outcomeLabel(e.outcome), status_class: cls });
    duration.observe({ status_class: cls }, Math.max(0, e.durationMs) / 1000);
    if (e.ttfbMs !== undefined) ttfb.observe(Math.max(0, e.ttfbMs) / 1000);
    if (e.bytesOut > 0) responseBytes.inc(e.bytesOut);
    // The error boundary records the access policy's 403 as this outcome: one source of truth.
    if (e.outcome === 'ERR_HUB_FORBIDDEN') denied.inc();
    // rule names come from the policy file, so the label stays bounded (and ruleLabel caps it)
    const rules = e.notes?.rateLimit;
    if (
      typeof rules === 'string' &&
      (e.outcome === 'ERR_HUB_RATE_LIMITED' || e.outcome === 'ERR_HUB_OVERLOADED')
    ) {
      for (const rule of rules.split(',')) if (rule) limited.inc({ rule: ruleLabel(rule) });
    }
  };

  const upgrades = createUpgradeMetrics(registry);

  return {
    registry,
    observe,
    upgrades,
    onWait: (ms, outcome) => queueWait.observe({ outcome }, Math.max(0, ms) / 1000),
    onAgentConnected: () => connections.inc({ event: 'connected', reason: 'ok' }),
    onAgentClosed: (_agent, code) =>
      connections.inc({ event: 'disconnected', reason: closeReasonLabel(code) }),
    agentRefused: (reason) => connections.inc({ event: 'refused', reason: refusedLabel(reason) }),
    agentBytes: (direction, bytes) => {
      if (bytes > 0) agentBytes.inc({ direction }, bytes);
    },
    framingViolation: () => framing.inc(),
    agentEjected: () => ejections.inc(),
    upstreamHealth: (_agent, healthy) => upstreamTransitions.inc({ to: healthy ? 'healthy' : 'unhealthy' }),
    rateLimited: (rule) => limited.inc({ rule: ruleLabel(rule) }),
    fallbackAttempt: (outcome) => fallback.inc({ outcome: fallbackLabel(outcome) }),
    shapingSource: (source) => {
      shapingStats = source;
    },
    shapingRejected: (group) => shapingRejected.inc({ group: groupLabel(shapingGroupLabel(group)) }),
    requestsTotal: () => observed,
    serverErrorsTotal: () => serverErrors,
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
