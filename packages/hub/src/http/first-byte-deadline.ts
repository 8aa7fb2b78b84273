import type { Socket } from 'node:net';
import { type Timers, UNREF_TIMERS } from '../pipeline/timers.js';

export interface FirstByteDeadlineOptions {
  /** How long a new connection may stay silent, ms (> 0). */
  timeoutMs: number;
  /** The clock, ms. Default performance.now. */
  now?: () => number;
  /** Default: the global timers, unref'd (a silent client never keeps the process up). */
  timers?: Timers;
}

/** A connection waiting for its first bytes: what `add` returns and `delete` takes. */
export interface Waiting {
  /** null once it no longer waits (its entry stays queued until the timer passes it). */
  socket: Socket | null;
  readonly since: number;
}

/**
 * New connections whose first bytes have not arrived, each destroyed once it stayed silent for
 * `timeoutMs`. One timer serves them all, where a setTimeout per connection cost a timer object
 * and a list insertion and removal for every connection of a burst: they share one timeout, so
 * arrival order is deadline order and the timer only ever waits for the oldest.
 *
 * A FIFO of entries, not a Map keyed by socket: a Map whose keys churn keeps what it held alive
 * through young GCs once one of its tables is promoted (packages/protocol's IdTable says why), and
 * a burst of connections would promote their sockets. A finished entry only drops its socket.
 */
export class FirstByteDeadline {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  /** Entries in arrival order from #head on; finished ones have no socket. */
  #queue: Waiting[] = [];
  #head = 0;
  #size = 0;
  #timer: unknown = undefined;

  constructor(options: FirstByteDeadlineOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(`firstByteTimeoutMs: must be a positive number of ms, got ${options.timeoutMs}`);
    }
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? (() => performance.now());
    this.#timers = options.timers ?? UNREF_TIMERS;
  }

  /** Connections waiting now. */
  get size(): number {
    return this.#size;
  }

  /** A connection starts waiting for its first bytes. */
  add(socket: Socket): Waiting {
    const entry: Waiting = { socket, since: this.#now() };
    this.#queue.push(entry);
    this.#size++;
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
    return entry;
  }

  /** Its first bytes came (or it closed): it no longer waits. A second call does nothing. */
  delete(entry: Waiting): void {
    // the timer stays armed: it finds nothing due, or re-arms for the oldest still waiting
    if (entry.socket === null) return;
    entry.socket = null;
    if (--this.#size === 0) this.#reset();
  }

  /** Destroys every connection still waiting (closing the listener). */
  destroyAll(): void {
    const queue = this.#queue;
    const from = this.#head;
    this.#reset();
    for (let i = from; i < queue.length; i++) {
      const entry = queue[i] as Waiting;
      const socket = entry.socket;
      if (socket === null) continue;
      entry.socket = null;
      socket.destroy();
    }
  }

  #reset(): void {
    // nothing waits: drop the queue rather than walk past its finished entries later
    this.#queue = [];
    this.#head = 0;
    this.#size = 0;
  }

  #arm(ms: number): void {
    this.#timer = this.#timers.set(() => this.#expire(), ms);
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head] as Waiting;
      const socket = entry.socket;
      if (socket !== null) {
        const left = entry.since + this.#timeoutMs - now;
        if (left > 0) {
          this.#compact();
          this.#arm(left);
          return;
        }
        entry.socket = null;
        this.#size--;
        socket.destroy();
      }
      this.#head++;
    }
    this.#reset();
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
