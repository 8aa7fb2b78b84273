import { describe, expect, test } from 'vitest';
import { createPacer } from '../../src/shaping/index.js';

function clockAt(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe('createPacer', () => {
  test('stays normal below the threshold or the minimum sample count', () => {
    const clock = clockAt();
    const pacer = createPacer({ now: clock.now, errorThreshold: 0.1, minSamples: 20 });
    for (let i = 0; i < 5; i++) pacer.record(500); // 100% errors, but only 5 answers
    expect(pacer.state).toBe('normal');
    for (let i = 0; i < 95; i++) pacer.record(200); // 5% errors over 100
    expect(pacer.state).toBe('normal');
    expect(pacer.reserve()).toBe(0);
  });

  test('engages on a 5xx burst, spaces dispatches, grows while errors continue', () => {
    const clock = clockAt();
    const pacer = createPacer({ now: clock.now, minSpacingMs: 50, maxSpacingMs: 400, stepMs: 1000 });
    for (let i = 0; i < 18; i++) pacer.record(200);
    for (let i = 0; i < 3; i++) pacer.record(503);
    expect(pacer.state).toBe('paced');
    expect(pacer.spacingMs).toBe(50);
    // Three dispatches at the same instant go 0, 50 and 100 ms later.
    expect([pacer.reserve(), pacer.reserve(), pacer.reserve()]).toEqual([0, 50, 100]);
    // Errors keep coming: x2 per step, capped at maxSpacingMs.
    for (let step = 0; step < 4; step++) {
      clock.t += 1000;
      pacer.record(500);
    }
    clock.t += 1000;
    expect(pacer.spacingMs).toBe(400);
  });

  test('relaxes step by step once errors stop and leaves after the quiet period', () => {
    const clock = clockAt();
    const pacer = createPacer({
      now: clock.now,
      minSpacingMs: 50,
      maxSpacingMs: 800,
      stepMs: 1000,
      quietPeriodMs: 10_000,
    });
    for (let i = 0; i < 20; i++) pacer.record(500);
    for (let step = 0; step < 4; step++) {
      clock.t += 1000;
      pacer.record(500);
    }
    clock.t += 1000;
    expect(pacer.spacingMs).toBe(800);
    // Quiet from here on: 800 -> 400 -> 200 -> 100 -> 50, one halving per step.
    const seen: number[] = [];
    for (let step = 0; step < 5; step++) {
      clock.t += 1000;
      pacer.record(200);
      seen.push(pacer.spacingMs);
    }
    expect(seen).toEqual([400, 200, 100, 50, 50]);
    expect(pacer.state).toBe('paced');
    clock.t += 3_999;
    expect(pacer.state).toBe('paced');
    clock.t += 1; // 10 s since the last 5xx
    expect(pacer.state).toBe('normal');
    expect(pacer.spacingMs).toBe(0);
    expect(pacer.reserve()).toBe(0);
    // The window started afresh: a single new error does not re-engage it.
    pacer.record(500);
    expect(pacer.state).toBe('normal');
  });

  test('old errors slide out of the window', () => {
    const clock = clockAt();
    const pacer = createPacer({ now: clock.now, windowMs: 20_000, minSamples: 10 });
    for (let i = 0; i < 9; i++) pacer.record(500);
    clock.t += 21_000;
    for (let i = 0; i < 10; i++) pacer.record(200);
    pacer.record(500); // 1 of 11 in the window (9%): not over 10%
    expect(pacer.window).toEqual({ total: 11, errors: 1 });
    expect(pacer.state).toBe('normal');
  });

  test('rejects bad options naming them', () => {
    const now = () => 0;
    expect(() => createPacer({ now, minSpacingMs: 0 })).toThrow(/minSpacingMs must be > 0/);
    expect(() => createPacer({ now, minSpacingMs: 100, maxSpacingMs: 50 })).toThrow(
      /maxSpacingMs must be >= 100/,
    );
    expect(() => createPacer({ now, errorThreshold: 1.5 })).toThrow(/errorThreshold must be <= 1/);
    expect(() => createPacer({ now, growFactor: 1 })).toThrow(/growFactor must be > 1/);
    expect(() => createPacer({} as never)).toThrow(/now must be a function/);
  });
});
