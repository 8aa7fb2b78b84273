import { describe, expect, it } from 'vitest';
import { createOutlierDetector, type OutlierOptions } from '../../src/dispatch/outlier-ejection.js';

/** A detector on a fake clock whose timers fire when the test advances time. */
function harness(options: OutlierOptions = {}) {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let nextId = 0;
  const returned: string[] = [];
  const ejected: Array<{ agent: string; untilMs: number; reason: string }> = [];
  const detector = createOutlierDetector(options, {
    now: () => now,
    setTimer: (fn, ms) => {
      const id = ++nextId;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (id) => timers.delete(id as number),
    onReturn: (agent) => returned.push(agent),
    onEject: (agent, untilMs, reason) => ejected.push({ agent, untilMs, reason }),
  });
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) {
      if (t.at <= now) {
        timers.delete(id);
        t.fn();
      }
    }
  };
  return { detector, advance, returned, ejected, pending: () => timers.size };
}

describe('outlier ejection', () => {
  it('ejects after consecutive connect errors, for a time that grows with each ejection', () => {
    const { detector, advance, returned, ejected } = harness({ baseEjectionMs: 1000, maxEjectionMs: 2500 });
    for (const id of ['a', 'b', 'c']) detector.track(id, 'gpu');
    const fail = (n: number) => {
      for (let i = 0; i < n; i++) detector.record('a', 'connect-error');
    };
    fail(2);
    expect(detector.isEjected('a')).toBe(false);
    fail(1);
    expect(detector.isEjected('a')).toBe(true);
    expect(ejected[0]).toMatchObject({ agent: 'a', untilMs: 1000, reason: '3 consecutive connect errors' });
    advance(999);
    expect(detector.isEjected('a')).toBe(true);
    advance(1);
    expect(detector.isEjected('a')).toBe(false);
    expect(returned).toEqual(['a']);
    fail(3);
    expect(detector.snapshot('a')).toEqual({ ejected: true, ejectedUntil: 3000, ejections: 2 });
    advance(2000);
    fail(3);
    // the third would last 3000 ms; the cap is 2500
    expect(detector.snapshot('a').ejectedUntil).toBe(3000 + 2500);
  });

  it('a success between failures resets the count; answers during an ejection do not count', () => {
    const { detector } = harness();
    detector.track('a', '');
    detector.track('b', '');
    detector.record('a', 'connect-error');
    detector.record('a', 'connect-error');
    detector.record('a', 'ok');
    detector.record('a', 'connect-error');
    detector.record('a', 'connect-error');
    expect(detector.isEjected('a')).toBe(false);
    detector.record('a', 'connect-error');
    expect(detector.isEjected('a')).toBe(true);
  });

  it('5xx ejection is off by default and counts gateway errors when on', () => {
    const off = harness();
    off.detector.track('a', '');
    off.detector.track('b', '');
    for (let i = 0; i < 20; i++) off.detector.record('a', '5xx');
    expect(off.detector.isEjected('a')).toBe(false);
    const on = harness({ consecutive5xx: 4, consecutiveConnectErrors: 0 });
    on.detector.track('a', '');
    on.detector.track('b', '');
    for (let i = 0; i < 3; i++) on.detector.record('a', '5xx');
    on.detector.record('a', 'connect-error');
    expect(on.detector.snapshot('a').ejected).toBe(true);
  });

  it('never ejects more than the max share of a group, and never the only agent of one', () => {
    const { detector } = harness({ maxEjectionPercent: 50 });
    for (const id of ['a', 'b', 'c', 'd']) detector.track(id, 'gpu');
    detector.track('solo', 'cpu');
    for (const id of ['a', 'b', 'c', 'd', 'solo'])
      for (let i = 0; i < 3; i++) detector.record(id, 'connect-error');
    expect(['a', 'b', 'c', 'd'].filter((id) => detector.isEjected(id))).toEqual(['a', 'b']);
    expect(detector.isEjected('solo')).toBe(false);
    expect(detector.ejectedCount).toBe(2);
  });

  it('forgets an agent that leaves, with its timer', () => {
    const { detector, pending } = harness();
    detector.track('a', '');
    detector.track('b', '');
    for (let i = 0; i < 3; i++) detector.record('a', 'connect-error');
    expect(pending()).toBe(1);
    detector.forget('a');
    expect(pending()).toBe(0);
    expect(detector.isEjected('a')).toBe(false);
  });

  it('validates its options up front, naming the option', () => {
    const deps = { now: () => 0, setTimer: () => 0, clearTimer: () => {} };
    expect(() => createOutlierDetector({ maxEjectionPercent: 101 }, deps)).toThrow(/maxEjectionPercent/);
    expect(() => createOutlierDetector({ consecutiveConnectErrors: -1 }, deps)).toThrow(
      /consecutiveConnectErrors/,
    );
  });
});
