import { type Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { RequestObserver } from '../pipeline/policies/access-log.js';
import { createUpgradeMetrics } from '../upgrade/upgrade-metrics.js';
import { registerAgentGauges } from './agent-gauges.js';
import { registerAppMetrics } from './app-metrics.js';
import type { HubLike, HubMetrics, HubMetricsOptions, HubSource } from './hub-metrics-types.js';
import { boundedLabel, closeReasonLabel, statusClass } from './labels.js';
import { createMetricFactory } from './metric-factory.js';
import { registerShapingMetrics, type ShapingStatsSource, shapingGroupLabel } from './shaping-metrics.js';

export type {
  AgentBytesDirection,
  HubLike,
  HubMetrics,
  HubMetricsOptions,
  HubSource,
  QueueWaitOutcome,
} from './hub-metrics-types.js';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/** The hub's counters, under the names the code below uses for them. */
const COUNTERS = {
  requests: {
    name: 'slime_requests_total',
    help: 'Application requests by outcome (ok, aborted or an error code) and status class',
    labelNames: ['outcome', 'status_class'],
  },
  responseBytes: {
    name: 'slime_response_bytes_total',
    help: 'Bytes written to applications (heads and bodies)',
  },
  agentBytes: {
    name: 'slime_agent_bytes_total',
    help: 'WebSocket frame bytes between the hub and its agents',
    labelNames: ['direction'],
  },
  connections: {
    name: 'slime_agent_connections_total',
    help: 'Agent connection events: connected, disconnected (reason from the close code), refused (token check)',
    labelNames: ['event', 'reason'],
  },
  framing: {
    name: 'slime_agent_framing_violations_total',
    help: 'Agent responses whose body broke their own framing (Content-Length, HEAD/204/304): stream reset, client connection closed',
  },
  ejections: {
    name: 'slime_agent_ejections_total',
    help: 'Agents taken out of dispatch by passive outlier ejection (consecutive connect failures or 5xx)',
  },
  upstreamTransitions: {
    name: 'slime_agent_upstream_transitions_total',
    help: "Agents' upstream health changes, as their STATUS frames report them",
    labelNames: ['to'],
  },
  denied: { name: 'slime_policy_denied_total', help: 'Requests refused by an access rule (403)' },
  limited: {
    name: 'slime_ratelimit_limited_total',
    help: 'Requests refused by a rate limit, by rule name',
    labelNames: ['rule'],
  },
  fallback: {
    name: 'slime_fallback_attempts_total',
    help: 'Fallback endpoint attempts by outcome',
    labelNames: ['outcome'],
  },
  shapingRejected: {
    name: 'slime_shaping_rejected_total',
    help: 'Requests refused by the shaping limiter per agent group',
    labelNames: ['group'],
  },
} as const;

/** The hub's histograms, likewise. */
const HISTOGRAMS = {
  duration: {
    name: 'slime_request_duration_seconds',
    help: 'Application request duration, end to end (arrival to the last response byte)',
    buckets: DURATION_BUCKETS,
    labelNames: ['status_class'],
  },
  ttfb: {
    name: 'slime_request_ttfb_seconds',
    help: 'Time from request arrival to the response head being sent',
    buckets: DURATION_BUCKETS,
  },
  queueWait: {
    name: 'slime_queue_wait_seconds',
    help: 'Time requests spent in the wait queue, by how the wait ended',
    buckets: WAIT_BUCKETS,
    labelNames: ['outcome'],
  },
} as const;

/** Increments of one label set not yet handed to prom-client. */
interface Pending<T extends string> {
  readonly labels: Partial<Record<T, string>>;
  n: number;
}

function flushPending<T extends string>(counter: Counter<T>, p: Pending<T>): void {
  if (p.n === 0) return;
  counter.inc(p.labels, p.n);
  p.n = 0;
}

// The label set of a histogram without labels (one object: `record` keeps counts per object).
const NO_LABELS = {};

// One label object per status class, not one per observation.
const CLASS_LABELS = new Map<string, { status_class: string }>();
function classLabels(cls: string): { status_class: string } {
  let labels = CLASS_LABELS.get(cls);
  if (labels === undefined) {
    labels = { status_class: cls };
    CLASS_LABELS.set(cls, labels);
  }
  return labels;
}

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
  const m = createMetricFactory(registry);

  const outcomeLabel = boundedLabel(maxLabelValues);
  const ruleLabel = boundedLabel(maxLabelValues);
  const groupLabel = boundedLabel(maxLabelValues);
  const fallbackLabel = boundedLabel(maxLabelValues);
  const refusedLabel = boundedLabel(maxLabelValues);

  const {
    requests,
    agentBytes,
    connections,
    framing,
    ejections,
    upstreamTransitions,
    denied,
    limited,
    fallback,
    shapingRejected,
  } = m.counters(COUNTERS, {
    // Counted per frame and per request in plain numbers, handed to prom-client when read: its inc
    // hashes the label set (strings and objects) on every call.
    agentBytes() {
      for (const p of agentBytesPending.values()) flushPending(this, p);
    },
    requests() {
      for (const byClass of requestsPending.values()) for (const p of byClass.values()) flushPending(this, p);
    },
    responseBytes() {
      flushPending(this, responseBytesPending);
    },
  });
  const agentBytesPending = new Map(
    ['to_agent', 'from_agent'].map((direction) => [direction, { labels: { direction }, n: 0 }]),
  );
  const responseBytesPending: Pending<string> = { labels: {}, n: 0 };
  const requestsPending = new Map<string, Map<string, Pending<'outcome' | 'status_class'>>>();
  const countRequest = (outcome: string, cls: string) => {
    let byClass = requestsPending.get(outcome);
    if (byClass === undefined) {
      byClass = new Map();
      requestsPending.set(outcome, byClass);
    }
    let p = byClass.get(cls);
    if (p === undefined) {
      // outcomeLabel only ever admits more values, so its answer for an outcome stays valid
      p = { labels: { outcome: outcomeLabel(outcome), status_class: cls }, n: 0 };
      byClass.set(cls, p);
    }
    p.n++;
  };
  const { duration, ttfb, queueWait } = m.histograms(HISTOGRAMS);
  m.gauge(
    'slime_queue_length',
    'Requests waiting for an agent or a --concurrent slot',
    [],
    function collect() {
      this.set(hub()?.queueLength ?? 0);
    },
  );
  m.gauge(
    'slime_active_requests',
    'Requests dispatched to an agent and not finished',
    [],
    function collect() {
      this.set(hub()?.activeRequests ?? 0);
    },
  );
  registerAgentGauges(m, hub);
  let shapingStats: ShapingStatsSource | undefined;
  registerShapingMetrics(m, groupLabel, () => shapingStats);
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
    countRequest(e.outcome, cls);
    duration.record(classLabels(cls), Math.max(0, e.durationMs) / 1000);
    if (e.ttfbMs !== undefined) ttfb.record(NO_LABELS, Math.max(0, e.ttfbMs) / 1000);
    if (e.bytesOut > 0) responseBytesPending.n += e.bytesOut;
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
      const p = agentBytesPending.get(direction);
      if (bytes <= 0) return;
      if (p === undefined) agentBytes.inc({ direction }, bytes);
      else p.n += bytes;
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
