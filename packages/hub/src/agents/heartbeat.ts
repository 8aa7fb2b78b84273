// What a heartbeat check does (drop a silent peer, ping once per interval) is the protocol's, shared
// with the agent; the hub's ticker, its sweep and its ping phases are here.
import { CloseCode, type MuxEndpoint } from '@slime/protocol';
import type { AgentStream } from '../streams/agent-stream.js';
import type { AgentConnection } from './agent-connection.js';
import { cancelIdle } from './agent-streams.js';
import type { ConnectionOptions } from './connection-types.js';

export { heartbeatDue } from '@slime/protocol';

/** How often the hub checks its agents: a tenth of the timeout, at most the ping interval. */
export function heartbeatTickMs(heartbeatMs: number, heartbeatTimeoutMs: number): number {
  return Math.max(50, Math.min(heartbeatMs, Math.floor(heartbeatTimeoutMs / 10)));
}

/** Parts each heartbeat tick is cut into (see `HeartbeatSweep`). */
export const HEARTBEAT_SLICES = 10;

/**
 * Visits every item of a live set once per `slices` calls, a slice per call: the hub's one
 * heartbeat timer fires `slices` times per tick and each firing checks only its share of the agents,
 * so 10,000 idle agents cost ten short pauses per tick instead of one long one (no per-agent timers).
 * Items added or removed meanwhile are handled as a Set's iterator handles them: removed ones are
 * skipped, added ones visited in the current sweep or the next.
 */
export class HeartbeatSweep<T> {
  readonly #items: Set<T>;
  readonly #slices: number;
  #it: Iterator<T> = [].values();
  #step = 0;
  #total = 0;
  #done = 0;

  constructor(items: Set<T>, slices = HEARTBEAT_SLICES) {
    if (!(Number.isInteger(slices) && slices >= 1)) throw new RangeError('slices must be an integer >= 1');
    this.#items = items;
    this.#slices = slices;
  }

  /** Visits the next slice: step k of a sweep takes the items up to (k + 1) / slices of the set. */
  step(visit: (item: T) => void): void {
    if (this.#step === 0) {
      this.#it = this.#items.values();
      this.#total = this.#items.size;
      this.#done = 0;
    }
    this.#step = (this.#step + 1) % this.#slices;
    const target =
      this.#step === 0 ? Number.POSITIVE_INFINITY : Math.ceil((this.#total * this.#step) / this.#slices);
    while (this.#done < target) {
      const r = this.#it.next();
      if (r.done) return;
      this.#done++;
      visit(r.value);
    }
  }
}

/**
 * When a new agent connection pings first, as an offset into the ping interval: agents that connect
 * together (a fleet restarting) ping spread over the interval instead of all in the same tick.
 * Golden-ratio steps by connection number: even spread, no randomness to inject.
 */
export function pingPhaseMs(connectionNumber: number, heartbeatMs: number): number {
  return Math.floor(((connectionNumber * 0.618_033_988_75) % 1) * heartbeatMs);
}

/**
 * One connection's share of a heartbeat tick: drops it without HELLO in time or silent past the
 * timeout, pings it when due, cancels its streams idle for too long.
 */
export function tickConnection(
  conn: AgentConnection,
  mux: MuxEndpoint<AgentStream>,
  now: number,
  opts: Pick<ConnectionOptions, 'helloTimeoutMs' | 'streamIdleTimeoutMs'>,
): void {
  const state = conn.state;
  if (state === 'closed') return;
  if (state === 'hello' && now - conn.since > opts.helloTimeoutMs) {
    conn.close(CloseCode.HELLO_TIMEOUT, 'no HELLO in time');
    return;
  }
  if (mux.heartbeat(now) === 'drop') {
    conn.log.warn({ silentMs: now - mux.lastSeen }, 'agent missed heartbeats; dropping it');
    conn.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    return;
  }
  if (mux.streams.size > 0) cancelIdle(mux.streams.values(), now, opts.streamIdleTimeoutMs);
}
