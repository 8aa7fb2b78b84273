import { ProtocolError } from '@slime/protocol';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import type { AgentConnection } from './agent-connection.js';
import type { ConnectionOptions } from './connection-types.js';

/** What an agent connection reports about the agent's own health (STATUS, broken responses). */
export interface AgentHealthEvents {
  /** The agent's STATUS changed its upstream's health. */
  upstreamHealth(healthy: boolean): void;
  /** The agent broke a response's framing. */
  framingViolation(problem: string): void;
}

// One broken response may be a bug; this many on one connection is an agent not to be trusted.
const MAX_FRAMING_VIOLATIONS = 3;

/** The agent's upstream health as its STATUS frames say, and the responses it broke. */
export class AgentHealth {
  upstreamHealthy = true;
  upstreamReason = '';
  framingViolations = 0;
  readonly #log: Logger;
  readonly #events: AgentHealthEvents;

  constructor(log: Logger, events: AgentHealthEvents) {
    this.#log = log;
    this.#events = events;
  }

  /** A STATUS frame. */
  status(healthy: boolean, reason: string): void {
    if (healthy === this.upstreamHealthy) return;
    this.upstreamHealthy = healthy;
    this.upstreamReason = reason;
    this.#log[healthy ? 'info' : 'warn'](
      { reason },
      healthy ? 'agent upstream healthy again' : 'agent upstream unhealthy; not dispatching to it',
    );
    this.#events.upstreamHealth(healthy);
  }

  /** A response broke its framing; true when the agent broke too many to keep its connection. */
  framingViolation(streamId: number, problem: string): boolean {
    this.framingViolations++;
    this.#log.warn(
      { streamId, problem, violations: this.framingViolations },
      'agent broke a response framing; stream reset and client connection closed',
    );
    this.#events.framingViolation(problem);
    return this.framingViolations >= MAX_FRAMING_VIOLATIONS;
  }

  snapshot() {
    return AgentHealth.snapshotOf(this);
  }

  /** A snapshot of `health`; `AgentHealth.snapshotOf(AgentHealth.FRESH)` for an agent that reported nothing. */
  static snapshotOf(health: Pick<AgentHealth, 'upstreamHealthy' | 'upstreamReason' | 'framingViolations'>) {
    const { upstreamHealthy, upstreamReason, framingViolations } = health;
    return { framingViolations, upstreamHealthy, upstreamReason };
  }

  /** What a new AgentHealth holds (a connection makes one only once the agent reports something). */
  static readonly FRESH = { upstreamHealthy: true, upstreamReason: '', framingViolations: 0 } as const;

  /** A message from the agent broke the rules: logs it and returns the close reason. */
  frameError(err: unknown): string {
    if (err instanceof ProtocolError) {
      this.#log.warn(
        { code: err.code, err: err.message },
        'protocol error from agent; closing its connection',
      );
      return err.message;
    }
    if (err instanceof HubError) {
      this.#log.warn({ err: err.message }, 'agent broke stream rules; closing its connection');
      return err.message;
    }
    this.#log.error({ err }, 'failed to handle a frame from an agent');
    return 'internal error handling a frame';
  }
}

/** The health of `conn`, reported through the hub's callbacks: made once the agent reports something. */
export function connectionHealth(conn: AgentConnection, opts: ConnectionOptions): AgentHealth {
  return new AgentHealth(conn.log, {
    upstreamHealth: (healthy) => {
      opts.onUpstreamHealth?.(conn, healthy);
      if (healthy) opts.onCapacity(conn);
    },
    framingViolation: (problem) => opts.onFramingViolation?.(conn, problem),
  });
}
