import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CreditLink, creditsToGrant, SlotPool } from '../src/slot-pool.js';

/**
 * A hub connection reduced to its credit arithmetic, applying the same rules as the hub and the
 * agent's Session: a REQUEST spends a credit, END returns it, REFUSED keeps it spent and pauses
 * the hub until the next CREDIT.
 */
class Link implements CreditLink {
  accepting = true;
  held = 0;
  paused = false;
  running = 0;
  refusals = 0;
  grants: number[] = [];

  readonly pool: SlotPool;

  constructor(pool: SlotPool) {
    this.pool = pool;
  }

  credit(n: number): void {
    this.held += n;
    this.paused = false;
    this.grants.push(n);
  }

  get usable(): number {
    return this.paused ? 0 : this.held;
  }

  /** The hub sends one REQUEST if it may; returns whether the agent started it. */
  request(): 'sent' | 'refused' | 'none' {
    if (this.usable === 0) return 'none';
    this.held--;
    if (this.pool.tryAcquire()) {
      this.running++;
      return 'sent';
    }
    this.paused = true;
    this.refusals++;
    return 'refused';
  }

  /** One of this hub's calls ends with END: the credit goes back to the hub. */
  finish(): void {
    this.running--;
    this.held++;
    this.pool.release();
    this.pool.rebalance();
  }
}

function connect(pool: SlotPool, n: number): Link[] {
  const links = Array.from({ length: n }, () => new Link(pool));
  for (const l of links) {
    pool.attach(l);
    pool.rebalance();
  }
  return links;
}

describe('SlotPool', () => {
  it('validates its size', () => {
    expect(() => new SlotPool(0)).toThrow(RangeError);
    expect(() => new SlotPool(1.5)).toThrow(RangeError);
    expect(() => new SlotPool(65_536)).toThrow(RangeError);
  });

  it('with one hub: one CREDIT for the free slots, then only implicit returns; never a refusal', () => {
    const pool = new SlotPool(3);
    const [hub] = connect(pool, 1) as [Link];
    expect(hub.grants).toEqual([3]);
    for (let round = 0; round < 10; round++) {
      while (hub.request() === 'sent');
      expect(pool.active).toBe(3);
      hub.finish();
      hub.finish();
    }
    expect(hub.refusals).toBe(0);
    expect(hub.grants).toEqual([3]);
  });

  it('a call left from a lost connection frees its slot with CREDIT(1) on the new one', () => {
    const pool = new SlotPool(2);
    expect(pool.tryAcquire()).toBe(true); // a call of a connection that died
    const [hub] = connect(pool, 1) as [Link];
    expect(hub.grants).toEqual([1]);
    pool.release();
    pool.rebalance();
    expect(hub.grants).toEqual([1, 1]);
    expect(hub.held).toBe(2);
  });

  it('offers every free slot to every hub, refuses the over-commit, and re-offers only when a slot frees', () => {
    const pool = new SlotPool(2);
    const [a, b, c] = connect(pool, 3) as [Link, Link, Link];
    expect([a.held, b.held, c.held]).toEqual([2, 2, 2]);
    expect([a.request(), a.request()]).toEqual(['sent', 'sent']);
    expect(b.request()).toBe('refused');
    // paused: b does not try again with its remaining credit
    expect(b.request()).toBe('none');
    expect(c.request()).toBe('refused');
    pool.rebalance();
    expect([b.paused, c.paused]).toEqual([true, true]);
    a.finish();
    // the freed slot is offered to the paused hubs too (a CREDIT(1) lifts the pause, so they may
    // use their older credit as well); a got its credit back with END
    expect([a.usable, b.usable, c.usable]).toEqual([1, 2, 2]);
    expect([b.grants, c.grants]).toEqual([
      [2, 1],
      [2, 1],
    ]);
    expect(b.request()).toBe('sent');
    expect(c.request()).toBe('refused');
    expect(pool.active).toBe(2);
  });

  it('a hub that is draining or gone is offered nothing', () => {
    const pool = new SlotPool(2);
    const [a, b] = connect(pool, 2) as [Link, Link];
    b.accepting = false;
    a.request();
    a.finish();
    expect(b.grants).toEqual([2]);
    pool.detach(a);
    pool.rebalance();
    expect(a.grants).toEqual([2]);
  });

  it('creditsToGrant never lets a hub hold more than its free room', () => {
    const link = { accepting: true, held: 3, paused: true, running: 0, credit: () => {} };
    expect(creditsToGrant(4, 4, link)).toBe(1);
    expect(creditsToGrant(4, 0, link)).toBe(0);
    expect(creditsToGrant(4, 4, { ...link, held: 4, paused: false })).toBe(0);
    expect(creditsToGrant(4, 2, { ...link, held: 0, paused: false, running: 3 })).toBe(1);
  });

  it('property: never more calls than slots, credits bounded, and an idle agent offers all its slots to every hub', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 200 }),
        (slots, hubs, steps) => {
          const pool = new SlotPool(slots);
          const links = connect(pool, hubs);
          for (const [send, pick] of steps) {
            const link = links[pick % hubs]!;
            if (send) link.request();
            else if (link.running > 0) link.finish();
            expect(pool.active).toBe(links.reduce((n, l) => n + l.running, 0));
            expect(pool.active).toBeLessThanOrEqual(slots);
            for (const l of links) {
              expect(l.held).toBeGreaterThanOrEqual(0);
              expect(l.held + l.running).toBeLessThanOrEqual(slots);
            }
          }
          for (const l of links) while (l.running > 0) l.finish();
          for (const l of links) expect(l.usable).toBe(slots);
        },
      ),
    );
  });
});
