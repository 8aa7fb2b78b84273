import { describe, expect, test, vi } from 'vitest';
import { createConcurrencyLimiter } from '../../src/shaping/index.js';

describe('createConcurrencyLimiter', () => {
  test('admits up to floor(limit) and refuses the rest', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', min: 1, max: 10, initial: 3 });
    const permits = [limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()];
    expect(permits.every(Boolean)).toBe(true);
    expect(limiter.tryAcquire()).toBeUndefined();
    expect(limiter.inFlight).toBe(3);
    permits[0]!.release({ latencyMs: 5, outcome: 'ignore' });
    permits[0]!.release({ latencyMs: 5, outcome: 'error' }); // a second release is ignored
    expect(limiter.inFlight).toBe(2);
    expect(limiter.limit).toBe(3);
  });

  test('aimd: +1 on a success while half the window is used, x0.9 on a drop, once per round trip', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', min: 1, max: 100, initial: 20 });
    const held = Array.from({ length: 12 }, () => limiter.tryAcquire()!);
    held[0]!.release({ latencyMs: 10, outcome: 'success' });
    expect(limiter.limit).toBe(21);
    // Sent before the increase: it does not add again.
    held[1]!.release({ latencyMs: 10, outcome: 'success' });
    expect(limiter.limit).toBe(21);
    held[2]!.release({ latencyMs: 10, outcome: 'error' });
    expect(limiter.limit).toBe(18); // floor(21 * 0.9)
    // Sent before that cut: a second drop of the same window does not cut again.
    held[3]!.release({ latencyMs: 10, outcome: 'timeout' });
    expect(limiter.limit).toBe(18);
    const fresh = limiter.tryAcquire()!;
    fresh.release({ latencyMs: 10, outcome: 'timeout' });
    expect(limiter.limit).toBe(16);
  });

  test('aimd: a success in a mostly idle window does not grow the limit', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', initial: 10 });
    limiter.tryAcquire()!.release({ latencyMs: 1, outcome: 'success' });
    expect(limiter.limit).toBe(10);
  });

  test('aimd: a success slower than latencyThresholdMs is a drop; the limit stays >= min', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', min: 2, initial: 2, latencyThresholdMs: 100 });
    const a = limiter.tryAcquire()!;
    limiter.tryAcquire()!.release({ latencyMs: 150, outcome: 'success' });
    a.release({ latencyMs: 150, outcome: 'success' });
    expect(limiter.limit).toBe(2);
    const b = limiter.tryAcquire()!;
    limiter.tryAcquire()!.release({ latencyMs: 50, outcome: 'success' });
    expect(limiter.limit).toBe(3);
    b.release({ latencyMs: 500, outcome: 'success' });
    expect(limiter.limit).toBe(2);
  });

  test('onAvailable fires when a slot frees or the cap lifts, not when nothing can be admitted', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', initial: 2 });
    const listener = vi.fn();
    const off = limiter.onAvailable(listener);
    const a = limiter.tryAcquire()!;
    limiter.tryAcquire()!;
    limiter.setCapFactor(0.5); // floor(2 * 0.5) = 1 slot, 2 in flight
    a.release({ latencyMs: 1, outcome: 'success' });
    expect(listener).not.toHaveBeenCalled();
    limiter.setCapFactor(1);
    expect(listener).toHaveBeenCalledTimes(1);
    off();
    limiter.setCapFactor(0.5);
    limiter.setCapFactor(1);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  test('a listener may acquire the freed slot synchronously', () => {
    const limiter = createConcurrencyLimiter({ mode: 'fixed', limit: 1 });
    const first = limiter.tryAcquire()!;
    let woken: unknown;
    limiter.onAvailable(() => {
      woken = limiter.tryAcquire();
    });
    first.release();
    expect(woken).toBeDefined();
    expect(limiter.inFlight).toBe(1);
  });

  test('the cap factor never takes the limit below min', () => {
    const limiter = createConcurrencyLimiter({ mode: 'aimd', min: 4, initial: 40 });
    limiter.setCapFactor(0.01);
    expect(limiter.limit).toBe(4);
    expect(limiter.learnedLimit).toBe(40);
  });

  test.each([
    [{ mode: 'aimd', min: 0 }, RangeError, /min must be >= 1/],
    [{ mode: 'aimd', min: 5, max: 4 }, RangeError, /max must be >= min/],
    [{ mode: 'aimd', backoffRatio: 0.3 }, RangeError, /backoffRatio must be >= 0.5/],
    [{ mode: 'aimd', backoffRatio: 1 }, RangeError, /backoffRatio must be <= 0.99/],
    [{ mode: 'aimd', latencyThresholdMs: 0 }, RangeError, /latencyThresholdMs must be > 0/],
    [{ mode: 'gradient', tolerance: 3 }, RangeError, /tolerance must be <= 2/],
    [{ mode: 'gradient', random: 1 }, TypeError, /random must be a function/],
    [{ mode: 'aimd', initial: 1.5 }, TypeError, /initial must be an integer/],
    [{ mode: 'vegas' }, TypeError, /mode must be/],
  ])('rejects bad options up front: %o', (options, type, message) => {
    expect(() => createConcurrencyLimiter(options as never)).toThrow(type);
    expect(() => createConcurrencyLimiter(options as never)).toThrow(message);
  });
});
