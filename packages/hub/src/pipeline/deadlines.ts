import type { Timers } from './timers.js';

/** One pending deadline; `cancel()` it when what it guards is over. */
export interface Deadline {
  cancel(): void;
}

class Entry implements Deadline {
  prev: Entry | null = null;
  next: Entry | null = null;
  readonly list: DeadlineList;
  readonly due: number;
  readonly fn: () => void;

  constructor(list: DeadlineList, due: number, fn: () => void) {
    this.list = list;
    this.due = due;
    this.fn = fn;
  }

  cancel(): void {
    this.list.remove(this);
  }
}

/**
 * The deadlines of one length, oldest first: they fall due in the order they were set, so one
 * timer, armed for the oldest, serves them all. A timer that fires for an entry already cancelled
 * is re-armed for the oldest one left (as Node's own timer lists do), so a deadline costs a list
 * node instead of a Timeout (with its async id and libuv clock read) and a clearTimeout.
 */
class DeadlineList {
  #head: Entry | null = null;
  #tail: Entry | null = null;
  #timer: unknown = undefined;
  /** The entry the timer was armed for. */
  #armedFor: Entry | null = null;

  readonly ms: number;
  readonly owner: Deadlines;

  constructor(ms: number, owner: Deadlines) {
    this.ms = ms;
    this.owner = owner;
  }

  get empty(): boolean {
    return this.#head === null;
  }

  add(at: number, fn: () => void): Entry {
    const e = new Entry(this, at + this.ms, fn);
    if (this.#tail === null) this.#head = e;
    else {
      this.#tail.next = e;
      e.prev = this.#tail;
    }
    this.#tail = e;
    if (this.#timer === undefined) this.#arm(this.ms);
    return e;
  }

  remove(e: Entry): void {
    if (e.list !== this || (e.prev === null && this.#head !== e)) return; // fired or cancelled
    if (e.prev) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#tail = e.prev;
    e.prev = e.next = null;
    if (this.#armedFor === e) this.#armedFor = null;
    // the last one gone: no timer left behind (nothing keeps the process up, tests see none)
    if (this.#head === null) this.#disarm();
  }

  #arm(delay: number): void {
    this.#armedFor = this.#head;
    this.#timer = this.owner.timers.set(() => this.#fire(), delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.owner.timers.clear(this.#timer);
    this.#timer = undefined;
    this.#armedFor = null;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.owner.now();
    // The entry this timer was armed for is due by the timer's word (an injected clock may stand
    // still); the ones behind it are due by the clock. One set by a callback here waits its turn.
    const armed = this.#armedFor;
    let head = this.#head;
    while (head !== null && (head === armed || head.due <= now)) {
      this.remove(head);
      head.fn();
      head = this.#head;
    }
    if (head !== null && this.#timer === undefined) this.#arm(Math.max(1, head.due - now));
  }
}

/** Deadlines grouped by length, each length on one timer. */
export class Deadlines {
  readonly #lists = new Map<number, DeadlineList>();

  readonly timers: Timers;
  readonly now: () => number;

  constructor(timers: Timers, now: () => number) {
    this.timers = timers;
    this.now = now;
  }

  /** Runs `fn` `ms` after `at` (a time from `now`), unless cancelled first. */
  set(ms: number, at: number, fn: () => void): Deadline {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList(ms, this);
      // lengths come from the hub's option and from clients' grpc-timeout: keep the map bounded
      if (this.#lists.size >= 64) this.#prune();
      this.#lists.set(ms, list);
    }
    return list.add(at, fn);
  }

  #prune(): void {
    for (const [ms, list] of this.#lists) if (list.empty) this.#lists.delete(ms);
  }
}
