import type { IncomingMessage } from 'node:http';
import { DEFAULT_STREAM_WINDOW } from '@slime/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { AgentConnection } from './agents/agent-connection.js';
import {
  HEARTBEAT_MIN_SLICE_MS,
  HEARTBEAT_PER_SLICE,
  HEARTBEAT_SLICES,
  HeartbeatSweep,
  heartbeatTickMs,
} from './agents/heartbeat.js';
import { nodeTimers } from './agents/node-timers.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { OutlierDetector } from './dispatch/outlier-ejection.js';
import type { HubInternals } from './hub-types.js';
import type { HubOptions } from './options.js';
import type { Timers } from './pipeline/timers.js';

// An agent id may travel in Slime-Agent-Id and logs: a short token, nothing that needs quoting.
const AGENT_ID = /^[A-Za-z0-9._:@-]{1,64}$/;

export interface AgentLinkDeps {
  now: () => number;
  log: Logger;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  dispatcher: Dispatcher;
  outliers: OutlierDetector;
}

export interface AgentLinks {
  /** The connected agents (native protocol). */
  readonly connections: Set<AgentConnection>;
  /** Takes an agent whose token the upgrade accepted: its connection joins dispatch. */
  add(ws: WebSocket, claims: AgentConnection['claims'], req: IncomingMessage): void;
  /** Checks the agents' heartbeats (and the Go workers') until the returned stop is called. */
  startHeartbeats(goCompat: { tick(now: number): void }, timers: Timers): () => void;
}

/** The hub's agent connections: how each is made, named, tracked for ejection and let go. */
export function createAgentLinks(
  options: HubOptions,
  internals: HubInternals,
  deps: AgentLinkDeps,
): AgentLinks {
  const { log, dispatcher, outliers } = deps;
  const connections = new Set<AgentConnection>();
  let nextAgent = 0;
  // Shared by every connection (a connection's own would cost an object and closures per agent).
  const timers = nodeTimers(deps.now);
  const onCapacity = (c: AgentConnection): void => dispatcher.capacity(c);
  const onClosed = (c: AgentConnection, code: number, reason: string): void => {
    connections.delete(c);
    outliers.forget(c.id);
    dispatcher.remove(c);
    internals.onAgentClosed?.(c, code, reason);
  };

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

  return {
    connections,
    startHeartbeats(goCompat, timers) {
      // Each tick's agents are checked a slice at a time (HeartbeatSweep), spread over the tick.
      const tickMs = heartbeatTickMs(deps.heartbeatMs, deps.heartbeatTimeoutMs);
      const sweep = new HeartbeatSweep(connections, {
        slices: HEARTBEAT_SLICES,
        perSlice: HEARTBEAT_PER_SLICE,
        maxSlices: Math.max(HEARTBEAT_SLICES, Math.floor(tickMs / HEARTBEAT_MIN_SLICE_MS)),
      });
      let ticker: unknown;
      const tick = (): void => {
        // a new sweep may change the slice count: this one period keeps the last sweep's
        ticker = timers.set(tick, tickMs / sweep.slices);
        const t = deps.now();
        if (sweep.step((conn) => conn.tick(t))) goCompat.tick(t);
      };
      ticker = timers.set(tick, tickMs / sweep.slices);
      return () => timers.clear(ticker);
    },
    add(ws, claims, req) {
      const id = connectionId(req.headers['slime-agent-id'], claims.sub);
      const conn = new AgentConnection(ws, {
        id,
        claims,
        remoteAddress: req.socket.remoteAddress ?? '',
        hubWindow: options.streamWindow ?? DEFAULT_STREAM_WINDOW,
        heartbeatMs: deps.heartbeatMs,
        heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
        helloTimeoutMs: 10_000,
        streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 300_000,
        now: deps.now,
        timers,
        log,
        childLog: true,
        onCapacity,
        ...(internals.onAgentBytes ? { onBytes: internals.onAgentBytes } : {}),
        ...(internals.onFramingViolation ? { onFramingViolation: internals.onFramingViolation } : {}),
        ...(internals.onUpstreamHealth ? { onUpstreamHealth: internals.onUpstreamHealth } : {}),
        onClosed,
      });
      connections.add(conn);
      // Agents serving the same scopes form a group: ejection never empties a group beyond its share.
      outliers.track(id, [...conn.scopes].sort().join(','));
      internals.onAgentConnected?.(conn);
    },
  };
}
