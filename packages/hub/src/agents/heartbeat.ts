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

/** Parts each heartbeat tick is cut into at least (see `HeartbeatSweep`). */
export const HEARTBEAT_SLICES = 10;

/**
 * Agents a slice checks at most while the tick allows (`HeartbeatSweep` `perSlice`): a slice pings
 * about a fifth of them, and their pongs come back together. 10,000 idle agents in ten slices made
 * bursts of 200 pings (then 200 pongs) every 100 ms, 2-5 ms each on a 2-core machine: a request
 * arriving meanwhile waited, which was bench scenario 4's p99. Smaller slices make shorter bursts
 * but wake the hub more often, and each wake-up costs (5,000 agents, a busy 2-core machine: hub CPU
 * 30 ms/s in slices of 1,000 and of 200, 50 ms/s in slices of 50): 200 keeps the CPU and cuts the
 * burst to 40 pings.
 */
export const HEARTBEAT_PER_SLICE = 200;

/** The shortest time between two slices of a tick, in ms (more agents: larger slices). */
export const HEARTBEAT_MIN_SLICE_MS = 2;

export interface SweepSizing {
  /** Slices per sweep at least (the hub: HEARTBEAT_SLICES). */
  slices?: number;
  /** Items per slice at most, while `maxSlices` allows (default: no limit). */
  perSlice?: number;
  /** Slices per sweep at most (default: no limit). */
  maxSlices?: number;
}

/**
 * Visits every item of a live set once per sweep, a slice per call: the hub's one heartbeat timer
 * fires once per slice and each firing checks only its share of the agents, so 10,000 idle agents
 * cost many short pauses per tick instead of one long one (no per-agent timers). A sweep has
 * `slices` slices, more when the set is large (`perSlice`, up to `maxSlices`), fixed when it starts.
 * Items added or removed meanwhile are handled as a Set's iterator handles them: removed ones are
 * skipped, added ones visited in the current sweep or the next.
 */
export class HeartbeatSweep<T> {
  readonly #items: Set<T>;
  readonly #min: number;
  readonly #perSlice: number;
  readonly #max: number;
  #slices: number;
  #it: Iterator<T> = [].values();
  #step = 0;
  #total = 0;
  #done = 0;

  constructor(items: Set<T>, sizing: number | SweepSizing = HEARTBEAT_SLICES) {
    const {
      slices = HEARTBEAT_SLICES,
      perSlice = Number.POSITIVE_INFINITY,
      maxSlices = Number.POSITIVE_INFINITY,
    } = typeof sizing === 'number' ? { slices: sizing } : sizing;
    if (!(Number.isInteger(slices) && slices >= 1)) throw new RangeError('slices must be an integer >= 1');
    if (!(perSlice >= 1)) throw new RangeError('perSlice must be >= 1');
    if (!(maxSlices >= slices)) throw new RangeError('maxSlices must be >= slices');
    this.#items = items;
    this.#min = slices;
    this.#perSlice = perSlice;
    this.#max = maxSlices;
    this.#slices = slices;
  }

  /** Slices of the sweep under way (or the last one): the caller's timer fires a tick / slices apart. */
  get slices(): number {
    return this.#slices;
  }

  /**
   * Visits the next slice: step k of a sweep takes the items up to (k + 1) / slices of the set.
   * True when that was the sweep's last slice.
   */
  step(visit: (item: T) => void): boolean {
    if (this.#step === 0) {
      this.#it = this.#items.values();
      this.#total = this.#items.size;
      this.#done = 0;
      this.#slices = Math.floor(
        Math.min(this.#max, Math.max(this.#min, Math.ceil(this.#total / this.#perSlice))),
      );
    }
    this.#step = (this.#step + 1) % this.#slices;
    const target =
      this.#step === 0 ? Number.POSITIVE_INFINITY : Math.ceil((this.#total * this.#step) / this.#slices);
    while (this.#done < target) {
      const r = this.#it.next();
      if (r.done) break;
      this.#done++;
      visit(r.value);
    }
    return this.#step === 0;
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
