// The shapes an agent connection is built from and reports, kept apart from the class.
import type { AgentClaims, HeaderList, MuxTimers } from '@slime/protocol';
import type { Logger } from 'pino';
import type { StreamInit } from '../streams/hub-stream.js';
import type { UpgradeInit } from '../streams/upgrade-stream.js';
import type { AgentConnection } from './agent-connection.js';

export interface ConnectionOptions {
  id: string;
  claims: AgentClaims;
  remoteAddress: string;
  hubWindow: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  helloTimeoutMs: number;
  streamIdleTimeoutMs: number;
  now: () => number;
  /** Timers for the close deadline and frame batching (default: Node's, on `now`). */
  timers?: MuxTimers;
  /** The connection's logger; with `childLog`, the hub's, and the connection logs through a child of it. */
  log: Logger;
  /**
   * Log through `log.child({ agent: id })`, made on the first line after 'agent connected' (which
   * `log` writes with the same binding): an idle agent keeps no child logger.
   */
  childLog?: boolean;
  /** The agent can take more work (HELLO done and credits arrived, or a stream returned its credit). */
  onCapacity: (conn: AgentConnection) => void;
  onClosed: (conn: AgentConnection, code: number, reason: string) => void;
  /** The agent broke a response's framing (metrics; the connection logs and counts it). */
  onFramingViolation?: (conn: AgentConnection, problem: string) => void;
  /** The agent's STATUS changed its upstream's health (metrics). */
  onUpstreamHealth?: (conn: AgentConnection, healthy: boolean) => void;
  /** Counts WebSocket payload bytes, for metrics. */
  onBytes?: (direction: 'to_agent' | 'from_agent', bytes: number) => void;
}

export interface OpenStreamRequest extends StreamInit {
  method: string;
  target: string;
  headers: HeaderList;
  /** The client asked to switch protocols (protocol 3: an UPGRADE stream). */
  upgrade?: UpgradeInit;
}

export type ConnectionState = 'hello' | 'ready' | 'draining' | 'closed';

/** Summary for /status and logs. */
export interface AgentSnapshot {
  id: string;
  name: string;
  jti: string;
  scopes: string[];
  scopePaths: string[];
  slots: number;
  credits: number;
  inFlight: number;
  /** Upgraded streams (client WebSockets) open; they hold no worker slot (`inFlight` excludes them). */
  upgradedStreams?: number;
  state: ConnectionState;
  upstream: string;
  software: string;
  hardware: unknown;
  remoteAddress: string;
  since: number;
  /** Responses whose body broke their own framing on this connection. */
  framingViolations: number;
  /** The agent's upstream answers (its last STATUS frame; true before any). */
  upstreamHealthy: boolean;
  /** Why the upstream is unhealthy, as the agent said. */
  upstreamReason: string;
  /** Outlier ejection: taken out of dispatch until this time (ms since the epoch), or null. */
  ejectedUntil?: number | null;
  /** How many times outlier ejection took it out of dispatch. */
  ejections?: number;
}
