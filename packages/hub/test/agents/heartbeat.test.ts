import { describe, expect, it } from 'vitest';
import { HeartbeatSweep, heartbeatDue, heartbeatTickMs, pingPhaseMs } from '../../src/agents/heartbeat.js';

/** Plays the hub's ticker on a fake clock against an agent that went silent at `frozenAt`. */
function dropTime(heartbeatMs: number, heartbeatTimeoutMs: number, frozenAt: number): number {
  const tick = heartbeatTickMs(heartbeatMs, heartbeatTimeoutMs);
  let lastPing = Number.NEGATIVE_INFINITY;
  for (let now = 0; now < 10 * heartbeatTimeoutMs; now += tick) {
    const lastSeen = Math.min(now, frozenAt);
    const due = heartbeatDue(now, lastSeen, lastPing, { heartbeatMs, heartbeatTimeoutMs });
    if (due === 'drop') return now;
    if (due === 'ping') lastPing = now;
  }
  throw new Error('never dropped');
}

describe('heartbeats', () => {
  it('a frozen agent is dropped within the timeout plus a tenth of it, wherever in the cycle it froze', () => {
    for (const frozenAt of [0, 1, 999, 1000, 2500, 4999, 5001, 7345]) {
      const dropped = dropTime(5_000, 10_000, frozenAt);
      expect(dropped - frozenAt).toBeGreaterThan(10_000);
      expect(dropped - frozenAt).toBeLessThanOrEqual(11_000);
    }
  });

  it('pings once per interval, not once per tick', () => {
    const tick = heartbeatTickMs(5_000, 10_000);
    expect(tick).toBe(1_000);
    let lastPing = Number.NEGATIVE_INFINITY;
    let pings = 0;
    for (let now = 0; now <= 20_000; now += tick) {
      if (heartbeatDue(now, now, lastPing, { heartbeatMs: 5_000, heartbeatTimeoutMs: 10_000 }) === 'ping') {
        pings++;
        lastPing = now;
      }
    }
    expect(pings).toBe(5); // at 0, 5, 10, 15 and 20 s
  });

  it('the tick never exceeds the ping interval and never drops below 50 ms', () => {
    expect(heartbeatTickMs(200, 60_000)).toBe(200);
    expect(heartbeatTickMs(5_000, 100)).toBe(50);
  });
});

describe('heartbeat sweep', () => {
  it('visits every agent once per sweep of ten steps, a tenth each step, and follows the live set', () => {
    const items = new Set(Array.from({ length: 95 }, (_, i) => i));
    const sweep = new HeartbeatSweep(items, 10);
    const seen: number[][] = [];
    for (let s = 0; s < 10; s++) {
      const step: number[] = [];
      sweep.step((i) => step.push(i));
      seen.push(step);
    }
    expect(Math.max(...seen.map((s) => s.length))).toBe(10);
    expect(seen.flat().sort((a, b) => a - b)).toEqual([...items]);
    // removed items are skipped, added ones are visited in a later step
    items.delete(0);
    items.add(1000);
    const next: number[] = [];
    for (let s = 0; s < 10; s++) sweep.step((i) => next.push(i));
    expect(next).not.toContain(0);
    expect(next).toContain(1000);
  });

  it('does nothing on an empty set and rejects a bad slice count', () => {
    const sweep = new HeartbeatSweep(new Set<number>());
    let visits = 0;
    sweep.step(() => visits++);
    expect(visits).toBe(0);
    expect(() => new HeartbeatSweep(new Set(), 0)).toThrow(RangeError);
  });

  it('spreads the first pings of agents that connect together over the interval', () => {
    const phases = Array.from({ length: 1000 }, (_, i) => pingPhaseMs(i + 1, 5_000));
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThan(5_000);
    // every fifth of the interval gets about a fifth of the agents
    for (let k = 0; k < 5; k++) {
      const inBucket = phases.filter((p) => p >= k * 1000 && p < (k + 1) * 1000).length;
      expect(inBucket).toBeGreaterThan(180);
      expect(inBucket).toBeLessThan(220);
    }
  });
});

describe('heartbeat sweep sizing', () => {
  it('cuts a large set into more slices (perSlice), never fewer than `slices` nor more than `maxSlices`', () => {
    const items = new Set(Array.from({ length: 1000 }, (_, i) => i));
    const sweep = new HeartbeatSweep(items, { slices: 10, perSlice: 50, maxSlices: 40 });
    const sizes: number[] = [];
    let ended = 0;
    for (let s = 0; s < 20; s++) {
      let n = 0;
      if (sweep.step(() => n++)) ended++;
      sizes.push(n);
    }
    expect(sweep.slices).toBe(20);
    expect(ended).toBe(1);
    expect(sizes.every((n) => n === 50)).toBe(true);
    // grown past maxSlices * perSlice: the slices grow instead
    for (let i = 1000; i < 4000; i++) items.add(i);
    let visited = 0;
    let steps = 0;
    let last = false;
    while (!last) {
      last = sweep.step(() => visited++);
      steps++;
    }
    expect([steps, visited, sweep.slices]).toEqual([40, 4000, 40]);
    // shrunk: back to the minimum
    items.clear();
    for (let i = 0; i < 30; i++) items.add(i);
    sweep.step(() => {});
    expect(sweep.slices).toBe(10);
  });

  it('says when a sweep ended, so the caller can run once-per-tick work', () => {
    const sweep = new HeartbeatSweep(new Set([1, 2, 3]), 3);
    expect([sweep.step(() => {}), sweep.step(() => {}), sweep.step(() => {})]).toEqual([false, false, true]);
    expect(() => new HeartbeatSweep(new Set(), { slices: 10, maxSlices: 5 })).toThrow(RangeError);
    expect(() => new HeartbeatSweep(new Set(), { perSlice: 0 })).toThrow(RangeError);
  });
});
