import { describe, expect, test } from 'vitest';
import { createConcurrencyLimiter, type LimiterOptions } from '../../src/shaping/index.js';
import { type SimClock, simulate } from './simulate.js';
import { seeded } from './synthetic-upstream.js';

// An upstream with 20 workers at 100 ms (+-10%), a queue of 10, then fast 500s; work beyond its
// capacity slows it down. Best goodput: 200 req/s. Offered load: 3x that.
const C = 20;
const model = { capacity: C, serviceMs: 100, queue: 10, penalty: 0.25 };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A limiter on the simulation's clock (the cliff probe interval is in simulated ms). */
function limiterOn(clock: SimClock, options: LimiterOptions) {
  return createConcurrencyLimiter(options.mode === 'fixed' ? options : { ...options, now: () => clock.t });
}

function run(options: LimiterOptions) {
  const [unloaded] = simulate(model, undefined, [{ durationMs: 5_000, load: 0.5 }]);
  const clock = { t: 0 };
  const phases = [
    { durationMs: 5_000, load: 3 }, // warm-up from the initial limit
    { durationMs: 20_000, load: 3 },
    { durationMs: 10_000, load: 3, capacity: C / 4 }, // the upstream loses 3/4 of its capacity
    { durationMs: 10_000, load: 3, capacity: C }, // and gets it back
  ];
  const [, steady, degraded, recovered] = simulate(model, limiterOn(clock, options), phases, 1, clock);
  return { unloadedP99: unloaded!.p99Ms, steady: steady!, degraded: degraded!, recovered: recovered! };
}

describe('adaptive concurrency at 3x the upstream capacity (simulated time)', () => {
  test('without shaping the model overloads: 500s and slow answers (the baseline)', () => {
    const [unloaded] = simulate(model, undefined, [{ durationMs: 5_000, load: 0.5 }]);
    const [, steady] = simulate(model, undefined, [
      { durationMs: 5_000, load: 3 },
      { durationMs: 20_000, load: 3 },
    ]);
    expect(steady!.errors).toBeGreaterThan(1000);
    expect(steady!.p99Ms / unloaded!.p99Ms).toBeGreaterThan(1.6);
    expect(steady!.goodputRatio).toBeLessThan(0.9);
  });

  test('aimd: limit settles within [0.9C, 1.25C], goodput >= 90%, p99 < 2x unloaded, recovers', () => {
    const r = run({ mode: 'aimd', min: 1, max: 200, latencyThresholdMs: 120 });
    // Measured (seed 1): mean limit 20.8 (range 19-24), goodput 97.9%, p99 134 ms vs 110 unloaded.
    const settled = mean(r.steady.limitSamples);
    expect(settled).toBeGreaterThanOrEqual(0.9 * C);
    expect(settled).toBeLessThanOrEqual(1.25 * C);
    expect(Math.min(...r.steady.limitSamples)).toBeGreaterThanOrEqual(0.75 * C);
    expect(Math.max(...r.steady.limitSamples)).toBeLessThanOrEqual(1.5 * C);
    expect(r.steady.goodputRatio).toBeGreaterThanOrEqual(0.9);
    expect(r.steady.p99Ms / r.unloadedP99).toBeLessThan(2);
    expect(r.steady.errors).toBeLessThan(r.steady.admitted * 0.01);
    // It follows the upstream down when it degrades...
    expect(mean(r.degraded.limitSamples)).toBeLessThan(0.5 * C);
    expect(r.degraded.goodputRatio).toBeGreaterThanOrEqual(0.85);
    // ...and climbs back once it recovers.
    expect(r.recovered.finalLimit).toBeGreaterThanOrEqual(0.9 * C);
    expect(mean(r.recovered.limitSamples.slice(-50))).toBeGreaterThanOrEqual(0.9 * C);
  });

  test('gradient: limit settles within [0.9C, 1.35C], goodput >= 90%, p99 < 2x unloaded, recovers', () => {
    const r = run({ mode: 'gradient', min: 1, max: 200, random: seeded(7) });
    // Measured (seed 1/7): mean limit 24.6 (1.23C), goodput 94.4%, p99 157 ms vs 110 unloaded.
    // It settles higher than AIMD by design: sqrt(limit) of queueing headroom, no threshold to tune.
    const settled = mean(r.steady.limitSamples);
    expect(settled).toBeGreaterThanOrEqual(0.9 * C);
    expect(settled).toBeLessThanOrEqual(1.35 * C);
    expect(r.steady.goodputRatio).toBeGreaterThanOrEqual(0.9);
    expect(r.steady.p99Ms / r.unloadedP99).toBeLessThan(2);
    expect(mean(r.degraded.limitSamples)).toBeLessThan(0.6 * C);
    expect(r.recovered.finalLimit).toBeGreaterThanOrEqual(0.9 * C);
  });

  test('gradient: a slower upstream is re-learned by probing instead of pinning the limit', () => {
    // The no-load latency doubles for good: without probing the old baseline would halve the limit.
    const afterSlowdown = (probeIntervalWindows: number) => {
      const clock = { t: 0 };
      const limiter = limiterOn(clock, {
        mode: 'gradient',
        min: 1,
        max: 200,
        probeIntervalWindows,
        random: seeded(3),
      });
      simulate(model, limiter, [{ durationMs: 10_000, load: 3 }], 1, clock);
      return simulate(
        { ...model, serviceMs: 200 },
        limiter,
        [
          { durationMs: 5_000, load: 3 },
          { durationMs: 20_000, load: 3 },
        ],
        1,
        clock,
      )[1]!;
    };
    const probing = afterSlowdown(50);
    expect(mean(probing.limitSamples)).toBeGreaterThanOrEqual(0.9 * C);
    expect(probing.goodputRatio).toBeGreaterThanOrEqual(0.85);
    // The same run without probing stays pinned low: this is what the probe is for.
    const stale = afterSlowdown(1_000_000);
    expect(mean(stale.limitSamples)).toBeLessThan(0.6 * C);
  });
});
