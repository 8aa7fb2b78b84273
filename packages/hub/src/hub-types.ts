import type { AgentConnection, AgentSnapshot } from './agents/agent-connection.js';
import type { AppDirectory } from './apps/app-directory.js';
import type { DispatcherOptions } from './dispatch/dispatcher.js';
import type { Policy } from './pipeline/context.js';
import type { RequestObserver } from './pipeline/policies/access-log.js';
import type { Timers } from './pipeline/timers.js';
import type { TlsPair } from './tls/tls-options.js';
import type { UpgradeObserver } from './upgrade/upgrade-types.js';

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
  /** Timers for the hub's own deadlines and ticks (drain, heartbeats, queue waits); default the global ones. */
  timers?: Timers;
}
