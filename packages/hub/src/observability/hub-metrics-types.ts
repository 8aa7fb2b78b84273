import type { Registry } from 'prom-client';
import type { AgentConnection, AgentSnapshot } from '../agents/agent-connection.js';
import type { RequestObserver } from '../pipeline/policies/access-log.js';
import type { UpgradeObserver } from '../upgrade/upgrade-types.js';
import type { ShapingStatsSource } from './shaping-metrics.js';

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
