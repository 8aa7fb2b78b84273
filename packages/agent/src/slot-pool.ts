/** One hub connection as the slot pool sees it (a Session satisfies it). */
export interface CreditLink {
  /** Whether the hub may be offered work now (WELCOME done, no GOAWAY either way). */
  readonly accepting: boolean;
  /** Credits the hub holds, mirrored exactly: grants − REQUESTs + our END/RESET (not REFUSED). */
  readonly held: number;
  /** We refused a REQUEST since our last CREDIT: the hub uses none of `held` until we grant again. */
  readonly paused: boolean;
  /** Upstream calls running for this connection. */
  readonly running: number;
  /** Sends CREDIT(n): `held` grows by n and the pause ends. */
  credit(n: number): void;
}

/**
 * The agent's worker slots, shared by every hub connection. The slots are the only hard limit:
 * a call starts only after `tryAcquire()`, so the upstream never sees more than `slots` requests,
 * whichever hubs send them.
 *
 * Credits are offers, not reservations: every free slot is offered to every hub (a hub never holds
 * more than `slots − running` credits), so an idle hub never keeps a slot from a busy one. When
 * several hubs take the same slot, the later REQUESTs are refused (RESET REFUSED) before anything
 * reaches the upstream, and their hubs re-dispatch them. A refusal pauses that hub's credits until
 * `rebalance()` grants again, which happens only when a slot frees: refusals are bounded by slot
 * releases, never a loop. With one hub this reduces to the single-connection rule (one CREDIT
 * with the free slots, then only implicit returns), so it never refuses.
 */
export class SlotPool {
  readonly slots: number;
  #active = 0;
  readonly #links: CreditLink[] = [];
  #turn = 0;
  #withdrawn = false;

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 65_535)
      throw new RangeError('slots must be an integer in 1..65535');
    this.slots = slots;
  }

  /** Calls holding a slot, over all connections (lost ones included until their call stops). */
  get active(): number {
    return this.#active;
  }

  get free(): number {
    return this.slots - this.#active;
  }

  /** True while the slots are withdrawn (the upstream is down): nothing is offered or taken. */
  get withdrawn(): boolean {
    return this.#withdrawn;
  }

  /**
   * Stops offering slots: `rebalance()` grants nothing and `tryAcquire()` fails until `offer()`.
   * Credits a hub already holds cannot be taken back; a REQUEST that spends one is refused, which
   * pauses that hub until our next CREDIT (docs/protocol.md §10).
   */
  withdraw(): void {
    this.#withdrawn = true;
  }

  /** Offers the slots again: tops every hub up to the free slots now. */
  offer(): void {
    this.#withdrawn = false;
    this.rebalance();
  }

  /** Takes a slot for a call about to start; false when every slot is busy or withdrawn. */
  tryAcquire(): boolean {
    if (this.#withdrawn || this.#active >= this.slots) return false;
    this.#active++;
    return true;
  }

  /** The call's upstream work has stopped. Call `rebalance()` afterwards to offer the slot. */
  release(): void {
    if (this.#active > 0) this.#active--;
  }

  attach(link: CreditLink): void {
    if (!this.#links.includes(link)) this.#links.push(link);
  }

  detach(link: CreditLink): void {
    const i = this.#links.indexOf(link);
    if (i >= 0) this.#links.splice(i, 1);
  }

  /**
   * Tops every accepting hub up to the free slots. The starting hub rotates so that, when a slot
   * frees, no hub's CREDIT always leaves first.
   */
  rebalance(): void {
    const n = this.#links.length;
    if (n === 0 || this.#withdrawn) return;
    const free = this.free;
    const start = this.#turn++ % n;
    for (let i = 0; i < n; i++) {
      const link = this.#links[(start + i) % n]!;
      if (!link.accepting) continue;
      const grant = creditsToGrant(this.slots, free, link);
      if (grant > 0) link.credit(grant);
    }
  }
}

/** How many credits to send one hub so that it can use every free slot; 0 when it already can. */
export function creditsToGrant(slots: number, free: number, link: CreditLink): number {
  const want = Math.min(free, slots - link.running);
  const usable = link.paused ? 0 : link.held;
  if (usable >= want) return 0;
  // A hub's credits plus its running calls never exceed the slots: that bounds the refusals.
  const room = slots - link.running - link.held;
  // Lifting a pause takes a CREDIT of at least 1 even when the hub already holds enough.
  const grant = Math.max(link.paused ? 1 : 0, want - link.held);
  return Math.max(0, Math.min(grant, room));
}
