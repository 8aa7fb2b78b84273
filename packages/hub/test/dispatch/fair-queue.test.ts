import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Priority } from '../../src/apps/app-types.js';
import { type FairNode, FairQueue } from '../../src/dispatch/fair-queue.js';

interface Item {
  app: string;
  seq: number;
  entry?: FairNode<Item>;
}

/** A queue, and a drain that serves up to `slots` items for which `servable` holds. */
function harness(weights: Record<string, number>, maxQueue: Record<string, number> = {}) {
  const q = new FairQueue<Item>((app) => ({ weight: weights[app] ?? 1, maxQueue: maxQueue[app] }));
  let seq = 0;
  const push = (app: string, priority: Priority = 'normal', front = false) => {
    const item: Item = { app, seq: seq++ };
    item.entry = q.push(app, priority, item, front);
    return item;
  };
  const serve = (slots: number, servable: (i: Item) => boolean = () => true) => {
    const out: Item[] = [];
    q.drain((item) => {
      if (out.length >= slots) return 'stop';
      if (!servable(item)) return 'skip';
      q.remove(item.entry!);
      out.push(item);
      return 'served';
    });
    return out;
  };
  return { q, push, serve };
}

describe('FairQueue (deficit round robin over applications)', () => {
  it('serves backlogged apps in proportion to their weights, one slot at a time', () => {
    const h = harness({ a: 3, b: 1, c: 2 });
    for (let i = 0; i < 60; i++) for (const app of ['a', 'b', 'c']) h.push(app);
    const served: string[] = [];
    for (let i = 0; i < 60; i++) served.push(...h.serve(1).map((x) => x.app));
    const count = (app: string) => served.filter((s) => s === app).length;
    expect([count('a'), count('b'), count('c')]).toEqual([30, 10, 20]);
  });

  it('gives fractional weights their share over several rounds', () => {
    const h = harness({ slow: 0.5, fast: 1 });
    for (let i = 0; i < 30; i++) {
      h.push('slow');
      h.push('fast');
    }
    const served = h.serve(30).map((x) => x.app);
    expect(served.filter((s) => s === 'fast')).toHaveLength(20);
  });

  it('keeps FIFO within an app and priority, higher priorities of an app first', () => {
    const h = harness({});
    const low = h.push('a', 'low');
    const n1 = h.push('a', 'normal');
    const hi = h.push('a', 'high');
    const n2 = h.push('a', 'normal');
    expect(h.serve(4).map((x) => x.seq)).toEqual([hi.seq, n1.seq, n2.seq, low.seq]);
  });

  it('passes over an app whose requests cannot be served now, without blocking the others', () => {
    const h = harness({ stuck: 5, ok: 1 });
    for (let i = 0; i < 3; i++) h.push('stuck');
    for (let i = 0; i < 3; i++) h.push('ok');
    expect(h.serve(10, (x) => x.app === 'ok').map((x) => x.app)).toEqual(['ok', 'ok', 'ok']);
    expect(h.q.size).toBe(3);
    expect(h.serve(10).map((x) => x.app)).toEqual(['stuck', 'stuck', 'stuck']);
    expect(h.q.size).toBe(0);
  });

  it('an app that empties its queue and comes back is served in the next round, not one later', () => {
    const h = harness({ a: 3, b: 1, s: 1 });
    for (let i = 0; i < 40; i++) {
      h.push('a');
      h.push('b');
    }
    h.push('s');
    const served: string[] = [];
    // s sends its next request as soon as the previous one was served (a closed-loop client)
    for (let i = 0; i < 30; i++) {
      const [x] = h.serve(1);
      served.push(x!.app);
      if (x!.app === 's') h.push('s');
    }
    expect(served.join('')).toBe('aaabsaaabsaaabsaaabsaaabsaaabs');
  });

  it('serves urgent (re-dispatched) requests before the round', () => {
    const h = harness({});
    h.push('a');
    const again = h.push('b', 'normal', true);
    expect(h.serve(1)).toEqual([again]);
    expect(h.q.size).toBe(1);
    expect(h.q.waiting().get('b')).toBeUndefined();
  });

  it('names the newest waiter of the lowest priority as the first to shed', () => {
    const h = harness({});
    h.push('a', 'low');
    const newest = h.push('a', 'low');
    h.push('b', 'normal');
    expect(h.q.sheddable('normal')).toBe(newest);
    expect(h.q.sheddable('low')).toBeUndefined();
    expect(h.q.sheddable('high', 'b')).toBe(h.q.sheddable('high', 'b'));
    expect(h.q.sheddable('normal', 'b')).toBeUndefined();
  });

  it('property: any weights, each backlogged app gets weight x rounds within one request', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 8 }),
        (ws, rounds) => {
          const weights = Object.fromEntries(ws.map((w, i) => [`app${i}`, w]));
          const h = harness(weights);
          const total = ws.reduce((a, b) => a + b, 0) * rounds;
          for (const app of Object.keys(weights)) for (let i = 0; i < total; i++) h.push(app);
          const served = h.serve(total).map((x) => x.app);
          for (const [app, w] of Object.entries(weights)) {
            expect(served.filter((s) => s === app).length).toBe(w * rounds);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('property: removing waiters in any order leaves a consistent queue', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b', 'c'),
            fc.constantFrom<Priority>('high', 'normal', 'low'),
            fc.boolean(),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const h = harness({ a: 2 });
          const items = ops.map(([app, p, front]) => h.push(app, p, front));
          for (const [i, item] of items.entries()) if (i % 2 === 0) h.q.remove(item.entry!);
          if (items[0]) h.q.remove(items[0].entry!); // twice: a no-op
          const left = items.filter((_, i) => i % 2 === 1);
          expect(h.q.size).toBe(left.length);
          expect(new Set(h.serve(1000))).toEqual(new Set(left));
          expect(h.q.size).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
