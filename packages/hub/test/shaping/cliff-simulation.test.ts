import { describe, expect, test } from 'vitest';
import { createConcurrencyLimiter, type LimiterOptions, type Permit } from '../../src/shaping/index.js';
import { simulate } from './simulate.js';
import { seeded } from './synthetic-upstream.js';

// A hard cliff: 20 workers at 100 ms (+-10%), no queue, an instant 500 for every request beyond 20,
// and no slowdown either, so latency never warns before the errors do. Offered load: 3x.
const C = 20;
const cliff = { capacity: C, serviceMs: 100, queue: 0, penalty: 0 };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function run(options: LimiterOptions & { cliffProbeMs?: number }) {
  const clock = { t: 0 };
  const limiter = createConcurrencyLimiter({ ...options, now: () => clock.t } as LimiterOptions);
  const [, steady, grown] = simulate(
    cliff,
    limiter,
    [
      { durationMs: 5_000, load: 3 }, // warm-up
      { durationMs: 20_000, load: 3 },
      // the upstream gains 10 workers (load counts in the first capacity: 400 req/s against 300)
      { durationMs: 10_000, load: 2, capacity: 1.5 * C },
    ],
    1,
    clock,
  );
  // limit samples are taken every 100 ms of simulated time
  const foundMs = grown!.limitSamples.findIndex((l) => l >= 0.9 * 1.5 * C) * 100;
  return { steady: steady!, grown: grown!, foundMs };
}

describe('probing that remembers the cliff (simulated time)', () => {
  test('aimd: the plateau probe costs 10x fewer 500s than a probe per round trip, and still finds added capacity within seconds', () => {
    const every = run({ mode: 'aimd', min: 1, max: 200, cliffProbeMs: 0 });
    const plateau = run({ mode: 'aimd', min: 1, max: 200 }); // default cliffProbeMs: 3 s
    // Measured (seed 1): 64 500s in 20 s (1.7% of admitted) probing every round trip, 6 (0.15%)
    // with the plateau; both hold the limit at C (mean 19.0 and 19.9).
    expect(every.steady.errors).toBeGreaterThan(40);
    expect(plateau.steady.errors * 10).toBeLessThanOrEqual(every.steady.errors);
    expect(plateau.steady.errors).toBeLessThan(plateau.steady.admitted * 0.005);
    expect(plateau.steady.goodputRatio).toBeGreaterThanOrEqual(0.95);
    expect(mean(plateau.steady.limitSamples)).toBeGreaterThanOrEqual(0.9 * C);
    expect(Math.max(...plateau.steady.limitSamples)).toBeLessThanOrEqual(C + 1);
    // 20 -> 30 workers: one probe interval at most, then +1 per round trip.
    expect(plateau.foundMs).toBeGreaterThanOrEqual(0);
    expect(plateau.foundMs).toBeLessThanOrEqual(5_000);
    expect(plateau.grown.finalLimit).toBeGreaterThanOrEqual(0.9 * 1.5 * C);
  });

  test('gradient: the same memory, at least 5x fewer 500s, and added capacity found within seconds', () => {
    const every = run({ mode: 'gradient', min: 1, max: 200, random: seeded(7), cliffProbeMs: 0 });
    const plateau = run({ mode: 'gradient', min: 1, max: 200, random: seeded(7) });
    // Measured: 65 500s in 20 s without the memory, 7 with it.
    expect(plateau.steady.errors * 5).toBeLessThanOrEqual(every.steady.errors);
    expect(plateau.steady.goodputRatio).toBeGreaterThanOrEqual(0.9);
    expect(plateau.foundMs).toBeGreaterThanOrEqual(0);
    expect(plateau.foundMs).toBeLessThanOrEqual(6_000);
  });

  test('aimd mechanics: growth stops one below where errors began, steps up once per interval, forgets after a clean round trip', () => {
    const clock = { t: 0 };
    const limiter = createConcurrencyLimiter({
      mode: 'aimd',
      initial: 10,
      cliffProbeMs: 1000,
      now: () => clock.t,
    });
    const held: Permit[] = [];
    // Keeps the window full (growth needs it used) and answers the oldest request.
    const answer = (outcome: 'success' | 'error') => {
      for (let p = limiter.tryAcquire(); p; p = limiter.tryAcquire()) held.push(p);
      held.shift()!.release({ latencyMs: 1, outcome });
    };
    answer('error');
    expect(limiter.limit).toBe(9);
    expect(limiter.cliff).toBe(10);
    // A round trip of answers later (sent under 9), growth stops at 9 until the interval passes.
    for (let i = 0; i < 30; i++) answer('success');
    expect(limiter.limit).toBe(9);
    clock.t = 1000;
    for (let i = 0; i < 10; i++) answer('success');
    expect(limiter.limit).toBe(10); // the probe
    // It fails: back below, and the next probe waits another interval.
    answer('error');
    expect(limiter.limit).toBe(9);
    expect(limiter.cliff).toBe(10);
    clock.t = 1999;
    for (let i = 0; i < 30; i++) answer('success');
    expect(limiter.limit).toBe(9);
    clock.t = 2000;
    for (let i = 0; i < 10; i++) answer('success');
    expect(limiter.limit).toBe(10);
    // This probe passes: a round trip (10 answers) sent at 10 all succeed. The capacity grew:
    // the memory goes and the limit climbs again, one per round trip.
    for (let i = 0; i < 30; i++) answer('success');
    expect(limiter.cliff).toBeUndefined();
    expect(limiter.limit).toBeGreaterThanOrEqual(11);
    // A slow answer is a drop but not an error: it is not remembered as a cliff.
    const slow = createConcurrencyLimiter({ mode: 'aimd', initial: 10, latencyThresholdMs: 5, now: () => 0 });
    const p = Array.from({ length: 10 }, () => slow.tryAcquire()!);
    p[0]!.release({ latencyMs: 50, outcome: 'success' });
    expect(slow.limit).toBe(9);
    expect(slow.cliff).toBeUndefined();
  });

  test('cliffProbeMs: 0 keeps the old behaviour (a probe every round trip, nothing remembered)', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', initial: 10, cliffProbeMs: 0, now: () => 0 });
    const held: Permit[] = [];
    const answer = (outcome: 'success' | 'error') => {
      for (let p = limiter.tryAcquire(); p; p = limiter.tryAcquire()) held.push(p);
      held.shift()!.release({ latencyMs: 1, outcome });
    };
    answer('error');
    expect(limiter.cliff).toBeUndefined();
    for (let i = 0; i < 30; i++) answer('success');
    expect(limiter.limit).toBeGreaterThanOrEqual(10);
  });
});
