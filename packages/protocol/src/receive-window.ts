import { Limits } from './constants.js';
import { ProtocolError } from './errors.js';

/**
 * Largest window a receiver grows one stream's window to by default (§11 auto-tuning). Loopback
 * and LAN links move a few hundred MB/s; at ~20 ms of turnaround that is a few MiB in flight.
 */
export const DEFAULT_MAX_STREAM_WINDOW = 8 * 1024 * 1024;
/**
 * Default cap on the window growth of all streams of one connection together, beyond each stream's
 * announced window: what a connection may have buffered stays bounded however many streams grow.
 */
export const DEFAULT_CONNECTION_WINDOW_GROWTH = 32 * 1024 * 1024;
/**
 * A stream whose consumer took half its window within this time runs faster than the window
 * lets it: the window doubles. The window thus settles near rate x 2 x this, the bandwidth-delay
 * product of a link whose turnaround (RTT plus event-loop latency) is up to 20 ms.
 */
export const DEFAULT_WINDOW_GROW_WITHIN_MS = 10;

/** The growth a connection's streams may still take, shared by all of them. */
export class WindowBudget {
  readonly cap: number;
  #left: number;

  constructor(cap: number) {
    if (!(Number.isInteger(cap) && cap >= 0)) throw new RangeError('cap must be an integer >= 0');
    this.cap = cap;
    this.#left = cap;
  }

  get available(): number {
    return this.#left;
  }

  /** Takes up to `n` bytes of growth; returns how many were granted. */
  take(n: number): number {
    const got = Math.min(n, this.#left);
    this.#left -= got;
    return got;
  }

  give(n: number): void {
    this.#left = Math.min(this.cap, this.#left + n);
  }
}

export interface ReceiveWindowOptions {
  /** The window announced to the peer (HELLO/WELCOME): what the sender starts with. */
  initial: number;
  /** Largest window this stream grows to (defaults to DEFAULT_MAX_STREAM_WINDOW, at least `initial`). */
  max?: number;
  /** The connection's shared growth budget; null: no growth beyond `initial`. */
  budget: WindowBudget | null;
  now: () => number;
  /** Doubles the window when half of it was consumed within this many ms. */
  growWithinMs?: number;
}

/**
 * The receiving end of one stream direction's flow control, with auto-tuning as HTTP/2 stacks do
 * it: WINDOW goes back once half the window was consumed (batched), and when that half drained
 * quickly the increment also grows the window, up to a per-stream max and within the connection's
 * budget. Growth needs no wire change: a sender of any version adds whatever increment it gets.
 * Pure: the clock is injected.
 */
export class ReceiveWindow {
  readonly #max: number;
  readonly #budget: WindowBudget | null;
  readonly #now: () => number;
  readonly #growWithinMs: number;
  #size: number;
  /** Bytes the sender may still send: granted minus received. */
  #credit: number;
  /** Consumed since the last WINDOW. */
  #consumed = 0;
  #lastUpdate: number;
  /** Growth taken from the budget, returned on release. */
  #grown = 0;

  constructor(o: ReceiveWindowOptions) {
    this.#size = o.initial;
    this.#credit = o.initial;
    this.#max = Math.min(Limits.MAX_WINDOW, Math.max(o.initial, o.max ?? DEFAULT_MAX_STREAM_WINDOW));
    this.#budget = o.budget;
    this.#now = o.now;
    this.#growWithinMs = o.growWithinMs ?? DEFAULT_WINDOW_GROW_WITHIN_MS;
    this.#lastUpdate = o.now();
  }

  /** The current window size (what the sender may have in flight at most). */
  get size(): number {
    return this.#size;
  }

  /** Bytes the sender may still send before it needs a WINDOW. */
  get credit(): number {
    return this.#credit;
  }

  /** `n` body bytes arrived. Throws ERR_PROTOCOL_FLOW_CONTROL when they exceed what was granted. */
  received(n: number): void {
    if (n > this.#credit) {
      throw new ProtocolError(
        'ERR_PROTOCOL_FLOW_CONTROL',
        `${n} body bytes exceed the window of ${this.#credit}`,
      );
    }
    this.#credit -= n;
  }

  /**
   * The consumer took `n` bytes. Returns the WINDOW increment to send now, or 0 while fewer than
   * half the window were consumed since the last one.
   */
  consumed(n: number): number {
    this.#consumed += n;
    if (this.#consumed < Math.max(1, Math.floor(this.#size / 2))) return 0;
    const now = this.#now();
    let growth = 0;
    if (now - this.#lastUpdate <= this.#growWithinMs && this.#size < this.#max) {
      const want = Math.min(this.#size, this.#max - this.#size);
      growth = this.#budget ? this.#budget.take(want) : 0;
      this.#size += growth;
      this.#grown += growth;
    }
    this.#lastUpdate = now;
    const increment = this.#consumed + growth;
    this.#consumed = 0;
    this.#credit += increment;
    return increment;
  }

  /** The stream is over: its growth goes back to the connection's budget. Idempotent. */
  release(): void {
    this.#budget?.give(this.#grown);
    this.#grown = 0;
  }
}
