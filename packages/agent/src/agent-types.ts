import type { EventEmitter } from 'node:events';

/** A running agent: its hub links, its upstream slots and its lifecycle. */
export interface Agent extends EventEmitter {
  /** Starts dialing the hub(s); reconnects forever with capped, jittered backoff. */
  start(): void;
  /**
   * Resolves on the first WELCOME from any hub; rejects with ERR_AGENT_UNAUTHORIZED when a hub
   * refuses the token.
   */
  ready(): Promise<void>;
  /** True while at least one hub connection is established. */
  readonly connected: boolean;
  /** Hubs the agent holds an established connection with right now. */
  readonly connectedHubs: number;
  /** Upstream calls in progress, over all hubs (never above numWorker). */
  readonly activeRequests: number;
  /** The id the first connected hub gave this agent (Slime-Agent-Id). */
  readonly hubAgentId: string | undefined;
  /**
   * False from the moment an upstream call could not connect (refused, reset before any answer,
   * connect timeout) until a health probe answers; meanwhile the agent offers no slot.
   */
  readonly upstreamHealthy: boolean;
  /** Graceful: GOAWAY to every hub, finish in-flight calls, disconnect. */
  close(): Promise<void>;
  destroy(err?: Error): void;
  [Symbol.asyncDispose](): Promise<void>;
}
