import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../src/pipeline/deadlines.js';
import { fakeClock } from '../policy/fake-context.js';
import { manualTimers } from './manual-timers.js';

function setup() {
  const clock = fakeClock(0);
  const t = manualTimers(clock);
  const deadlines = new Deadlines(t.timers, clock.now);
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
  return { clock, t, deadlines, fired, at };
}

describe('Deadlines (one timer per deadline length)', () => {
  it('fires each deadline at its own time, on one timer for one length', () => {
    const s = setup();
    s.deadlines.set(100, s.clock.now(), s.at('a'));
    s.t.advance(30);
    s.deadlines.set(100, s.clock.now(), s.at('b'));
    s.t.advance(10);
    s.deadlines.set(100, s.clock.now(), s.at('c'));
    expect(s.t.pending).toBe(1);
    s.t.advance(59);
    expect(s.fired).toEqual([]);
    s.t.advance(1);
    expect(s.fired).toEqual(['a@100']);
    s.t.advance(30);
    s.t.advance(10);
    expect(s.fired).toEqual(['a@100', 'b@130', 'c@140']);
    // nothing left: no timer left either
    expect(s.t.pending).toBe(0);
  });

  it('a cancelled deadline never fires; the ones behind it keep their time', () => {
    const s = setup();
    const a = s.deadlines.set(100, 0, s.at('a'));
    s.t.advance(50);
    s.deadlines.set(100, s.clock.now(), s.at('b'));
    a.cancel();
    a.cancel(); // twice is harmless
    s.t.advance(50); // a's timer fires for nothing and is armed again for b
    expect(s.fired).toEqual([]);
    expect(s.t.pending).toBe(1);
    s.t.advance(49);
    expect(s.fired).toEqual([]);
    s.t.advance(1);
    expect(s.fired).toEqual(['b@150']);
  });

  it('cancelling every deadline clears the timer', () => {
    const s = setup();
    const ds = [1, 2, 3].map(() => s.deadlines.set(100, 0, s.at('x')));
    for (const d of ds) d.cancel();
    expect(s.t.pending).toBe(0);
    s.t.advance(1000);
    expect(s.fired).toEqual([]);
  });

  it('deadlines of different lengths run on their own timers', () => {
    const s = setup();
    s.deadlines.set(100, 0, s.at('long'));
    s.deadlines.set(10, 0, s.at('short'));
    expect(s.t.pending).toBe(2);
    s.t.advance(10);
    s.t.advance(90);
    expect(s.fired).toEqual(['short@10', 'long@100']);
  });

  it('a deadline set while others fire waits its whole length', () => {
    const s = setup();
    s.deadlines.set(100, 0, () => {
      s.fired.push(`first@${s.clock.now()}`);
      s.deadlines.set(100, s.clock.now(), s.at('second'));
    });
    s.t.advance(100);
    expect(s.fired).toEqual(['first@100']);
    s.t.advance(99);
    expect(s.fired).toEqual(['first@100']);
    s.t.advance(1);
    expect(s.fired).toEqual(['first@100', 'second@200']);
  });

  it('with a clock that stands still, the deadline its timer was set for still fires', () => {
    const t = manualTimers();
    const deadlines = new Deadlines(t.timers, () => 0);
    const fired: number[] = [];
    deadlines.set(1000, 0, () => fired.push(1));
    t.advance(999);
    expect(fired).toEqual([]);
    t.advance(1);
    expect(fired).toEqual([1]);
    expect(t.pending).toBe(0);
  });
});
