import { describe, expect, it } from 'vitest';
import { heartbeatDue, heartbeatTickMs } from '../../src/agents/heartbeat.js';

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
