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

/**
 * New connections whose first bytes have not arrived, each destroyed once it stayed silent for
 * `timeoutMs`. One timer serves them all, where a setTimeout per connection cost a timer object
 * and a list insertion and removal for every connection of a burst: they share one timeout, so
 * the Map's insertion order is their deadline order and the timer only ever waits for the oldest.
 */
export class FirstByteDeadline {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  /** Each waiting socket and when it arrived. */
  readonly #waiting = new Map<Socket, number>();
  #timer: unknown = undefined;

  constructor(options: FirstByteDeadlineOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(`firstByteTimeoutMs: must be a positive number of ms, got ${options.timeoutMs}`);
    }
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? (() => performance.now());
    this.#timers = options.timers ?? UNREF_TIMERS;
  }

  get size(): number {
    return this.#waiting.size;
  }

  /** A connection starts waiting for its first bytes. */
  add(socket: Socket): void {
    this.#waiting.set(socket, this.#now());
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
  }

  /** Its first bytes came (or it closed): it no longer waits. */
  delete(socket: Socket): void {
    // the timer stays armed: it finds nothing due, or re-arms for the oldest still waiting
    this.#waiting.delete(socket);
  }

  /** Destroys every connection still waiting (closing the listener). */
  destroyAll(): void {
    for (const socket of [...this.#waiting.keys()]) socket.destroy();
    this.#waiting.clear();
  }

  #arm(ms: number): void {
    this.#timer = this.#timers.set(() => this.#expire(), ms);
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#now();
    for (const [socket, since] of this.#waiting) {
      const left = since + this.#timeoutMs - now;
      if (left > 0) {
        this.#arm(left);
        return;
      }
      this.#waiting.delete(socket);
      socket.destroy();
    }
  }
}
