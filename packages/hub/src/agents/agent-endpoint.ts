import {
  createMuxEndpoint,
  type MuxEndpoint,
  type MuxHandler,
  type WebSocketLike,
  webSocketMux,
} from '@slime/protocol';
import type { AgentStream } from '../streams/agent-stream.js';
import type { ConnectionOptions } from './connection-types.js';
import { pingPhaseMs } from './heartbeat.js';
import { nodeTimers } from './node-timers.js';

/** Connections made by this process, for spreading first pings (pingPhaseMs). */
let connectionCount = 0;

/** The multiplexed endpoint under an agent connection: the hub's side of the agent's WebSocket. */
export function agentEndpoint(
  ws: WebSocketLike,
  opts: ConnectionOptions,
  since: number,
  handler: MuxHandler<AgentStream>,
): MuxEndpoint<AgentStream> {
  const counters = opts.onBytes ? byteCounters(opts.onBytes) : undefined;
  return createMuxEndpoint<AgentStream>({
    // the hub is the WebSocket server: its frames go unmasked
    socket: webSocketMux(ws, { masked: false }),
    timers: opts.timers ?? nodeTimers(opts.now),
    opening: 'HELLO',
    heartbeatMs: opts.heartbeatMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    // The first ping comes somewhere within the first interval, not for every new agent at once.
    firstPingAt: since + pingPhaseMs(++connectionCount, opts.heartbeatMs),
    ...counters,
    handler,
  });
}

type OnBytes = NonNullable<ConnectionOptions['onBytes']>;
type ByteCounters = { onSent: (n: number) => void; onReceived: (n: number) => void };
const countersOf = new WeakMap<OnBytes, ByteCounters>();

/** The endpoint's byte counters for the hub's `onBytes`: made once per hub, not per connection. */
function byteCounters(onBytes: OnBytes): ByteCounters {
  let c = countersOf.get(onBytes);
  if (c === undefined) {
    c = { onSent: (n) => onBytes('to_agent', n), onReceived: (n) => onBytes('from_agent', n) };
    countersOf.set(onBytes, c);
  }
  return c;
}
