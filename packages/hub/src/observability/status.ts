import type { AgentSnapshot } from '../agents/agent-connection.js';
import type { ShapingGroupStats } from '../shaping/shaper.js';
import type { HubLike } from './hub-metrics.js';

/** One agent as /status shows it: no token, no jti (a token id is a revocation handle, not for dashboards). */
export interface AgentStatus {
  id: string;
  name: string;
  scopes: string[];
  scopePaths: string[];
  state: AgentSnapshot['state'];
  slots: number;
  inFlight: number;
  credits: number;
  /** ISO time the connection was accepted. */
  since: string;
  connectedSeconds: number;
  remoteAddress: string;
  upstream: string;
  software: string;
  /** What the agent reported with --report-hardware, else null. */
  hardware: unknown;
  /**
   * `ok`; `upstream-down` while the agent says its upstream does not answer (it takes no work);
   * `ejected` while outlier ejection keeps it out of dispatch.
   */
  health: 'ok' | 'upstream-down' | 'ejected';
  /** The agent's reason for `upstream-down`, else empty. */
  healthReason: string;
  /** ISO time an ejection ends, else null. */
  ejectedUntil: string | null;
  /** How many times outlier ejection took it out of dispatch. */
  ejections: number;
  /** Responses whose body broke their own framing (each reset, three close the agent). */
  framingViolations: number;
  /**
   * The wire the agent speaks: `slime` (our WebSocket protocol) or `go` (a Go Slime Proxy agent on
   * its long-poll protocol, one entry per worker; served with --accept-go-tokens).
   */
  protocol: 'slime' | 'go';
}

export interface HubStatus {
  time: string;
  uptimeSeconds: number;
  agents: AgentStatus[];
  totals: { agents: number; slots: number; inFlight: number };
  queueLength: number;
  activeRequests: number;
  /**
   * Application requests finished since start and their rate over the last few seconds; `errors`
   * of them were answered 5xx (by an upstream or by the hub), `errorsPerSecond` is their rate and
   * `errorShare` (0..1) their share of the requests finished in the same window (0 without traffic).
   */
  requests: RequestStats;
  /** Shaped agent groups (limit, in flight, paced state, rejections); absent without shaping. */
  shaping?: ShapingGroupStats[];
  /** Per application: weight, requests in flight, waiting and served; absent before any request. */
  apps?: AppStatus[];
  policy?: unknown;
}

export interface AppStatus {
  app: string;
  weight: number;
  inFlight: number;
  queued: number;
  served: number;
}

export interface RequestStats {
  total: number;
  perSecond: number;
  errors: number;
  errorsPerSecond: number;
  errorShare: number;
}

export interface StatusSourceOptions {
  hub: HubLike;
  /** Requests finished so far (the metrics keep it); the rate is 0 without it. */
  requestsTotal?: () => number;
  /** Of those, the ones answered 5xx; the error figures are 0 without it. */
  serverErrorsTotal?: () => number;
  /** A summary of the policy in force, shown as is. */
  policy?: () => unknown;
  /** The shaping groups in force (the engine's shaping section). */
  shaping?: () => readonly ShapingGroupStats[];
  /** An application's weight (the policy's `apps`); 1 when absent. */
  appWeight?: (app: string) => number;
  now?: () => number;
  /** Window the request rate is averaged over, ms. Default 10000. */
  rateWindowMs?: number;
}

/**
 * Builds /status documents. The request rate comes from samples of the running total taken
 * whenever a status is built (the SSE stream does that every second), so no timer runs here.
 */
export function createStatusSource(options: StatusSourceOptions): () => HubStatus {
  const { hub, requestsTotal, serverErrorsTotal, policy } = options;
  const now = options.now ?? Date.now;
  const windowMs = options.rateWindowMs ?? 10_000;
  if (!Number.isFinite(windowMs) || windowMs <= 0)
    throw new RangeError('rateWindowMs must be a positive number');
  const started = now();
  const samples: { t: number; total: number; errors: number }[] = [];
  const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

  const rates = (t: number, total: number, errors: number): RequestStats => {
    samples.push({ t, total, errors });
    // Keep one sample older than the window so that the rate spans the whole window.
    while (samples.length > 2 && t - samples[1]!.t >= windowMs) samples.shift();
    const first = samples[0]!;
    const dt = (t - first.t) / 1000;
    const requests = total - first.total;
    // a counter read before the other can make the 5xx delta exceed the total's for a moment
    const failed = Math.min(Math.max(0, errors - first.errors), Math.max(0, requests));
    return {
      total,
      perSecond: dt > 0 ? round(requests / dt, 2) : 0,
      errors,
      errorsPerSecond: dt > 0 ? round(failed / dt, 2) : 0,
      errorShare: requests > 0 ? round(failed / requests, 4) : 0,
    };
  };

  return () => {
    const t = now();
    const agents = hub
      .agents()
      .filter((a) => a.state !== 'closed')
      .map(
        (a): AgentStatus => ({
          id: a.id,
          name: a.name,
          scopes: a.scopes,
          scopePaths: a.scopePaths,
          state: a.state,
          slots: a.slots,
          inFlight: a.inFlight,
          credits: a.credits,
          since: new Date(a.since).toISOString(),
          connectedSeconds: Math.max(0, Math.round((t - a.since) / 1000)),
          remoteAddress: a.remoteAddress,
          upstream: a.upstream,
          software: a.software,
          hardware: a.hardware ?? null,
          health: !a.upstreamHealthy ? 'upstream-down' : a.ejectedUntil ? 'ejected' : 'ok',
          healthReason: a.upstreamHealthy ? '' : a.upstreamReason,
          ejectedUntil: a.ejectedUntil ? new Date(a.ejectedUntil).toISOString() : null,
          ejections: a.ejections ?? 0,
          framingViolations: a.framingViolations,
          protocol: (a as { protocol?: string }).protocol === 'go' ? 'go' : 'slime',
        }),
      );
    const total = requestsTotal?.() ?? 0;
    const errors = serverErrorsTotal?.() ?? 0;
    const status: HubStatus = {
      time: new Date(t).toISOString(),
      uptimeSeconds: Math.round((t - started) / 1000),
      agents,
      totals: {
        agents: agents.length,
        slots: agents.reduce((n, a) => n + a.slots, 0),
        inFlight: agents.reduce((n, a) => n + a.inFlight, 0),
      },
      queueLength: hub.queueLength,
      activeRequests: hub.activeRequests,
      requests: rates(t, total, errors),
    };
    const groups = options.shaping?.() ?? [];
    if (groups.length > 0) status.shaping = [...groups];
    const apps = hub.appStats?.() ?? [];
    if (apps.length > 0) status.apps = apps.map((a) => ({ ...a, weight: options.appWeight?.(a.app) ?? 1 }));
    if (policy) status.policy = policy();
    return status;
  };
}
