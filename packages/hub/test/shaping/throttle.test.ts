import { describe, expect, test, vi } from 'vitest';
import { createConcurrencyLimiter, createShaper, validateShapingConfig } from '../../src/shaping/index.js';
import { parseRetryAfter } from '../../src/shaping/retry-after.js';
import { createThrottleLatency } from '../../src/shaping/throttle-latency.js';
import { createSyntheticUpstream, seeded } from './synthetic-upstream.js';

function configOf(raw: unknown) {
  const r = validateShapingConfig(raw);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

describe('the learned throttle latency (simulated time)', () => {
  test('a cliff upstream’s instant 500s are throttles; its real answers and a slow genuine 500 are not', () => {
    const random = seeded(5);
    // The hard cliff at 3x: 20 at once in ~100 ms, an instant 500 past them.
    const upstream = createSyntheticUpstream({ capacity: 20, serviceMs: 100, queue: 0, penalty: 0 }, random);
    const learner = createThrottleLatency();
    let t = 0;
    const verdicts = { fast500: 0, slow500: 0, fastOk: 0 };
    // Before any success the group knows nothing: nothing is fast.
    expect(learner.boundMs).toBeUndefined();
    expect(learner.isFast(1)).toBe(false);
    for (let i = 0; i < 6000; i++) {
      t += (100 / 20 / 3) * (0.5 + random());
      const answer = upstream.send(t);
      if (answer.status >= 500) {
        if (learner.isFast(answer.latencyMs)) verdicts.fast500++;
        else verdicts.slow500++;
      } else if (learner.isFast(answer.latencyMs)) verdicts.fastOk++;
      // the answer is recorded once it is back (the order does not matter to a percentile)
      learner.record(answer.status, answer.latencyMs);
    }
    // Only the first few 500s, before 8 successes were back, went unclassified.
    expect(verdicts.fast500).toBeGreaterThan(3000);
    expect(verdicts.slow500).toBeLessThan(20);
    expect(verdicts.fastOk).toBe(0);
    // Bound: half the 10th percentile of ~90-110 ms.
    expect(learner.boundMs).toBeGreaterThan(40);
    expect(learner.boundMs).toBeLessThan(50);
    // A genuine 500 that took the upstream real work (as long as a success) is passed on.
    expect(learner.isFast(95)).toBe(false);
  });

  test('the bound follows the upstream: slower answers raise it, faster ones lower it; maxLatencyMs caps it', () => {
    const learner = createThrottleLatency({ maxLatencyMs: 150 });
    expect(learner.boundMs).toBe(150); // the cap is the bound until enough is learned
    const random = seeded(9);
    const feed = (ms: number, n: number) => {
      for (let i = 0; i < n; i++) learner.record(200, ms * (0.9 + 0.2 * random()));
    };
    feed(100, 64);
    expect(learner.boundMs).toBeCloseTo(46, -1);
    feed(400, 64); // the upstream became 4x slower: its throttles may be slower too
    expect(learner.boundMs).toBe(150); // learned ~185, capped
    const uncapped = createThrottleLatency({ fastRatio: 0.25 });
    for (let i = 0; i < 64; i++) uncapped.record(200, 400);
    expect(uncapped.boundMs).toBe(100);
    for (let i = 0; i < 64; i++) uncapped.record(200, 40);
    expect(uncapped.boundMs).toBe(10);
    // Errors and client errors teach nothing about what a real answer costs.
    for (let i = 0; i < 64; i++) uncapped.record(500, 1);
    for (let i = 0; i < 64; i++) uncapped.record(404, 1);
    expect(uncapped.boundMs).toBe(10);
    expect(() => createThrottleLatency({ fastRatio: 0 })).toThrow(RangeError);
  });

  test('the shaper learns it per group from the answers it releases', () => {
    const c = { t: 0 };
    const shaper = createShaper(
      configOf({
        groups: [
          { match: { scope: 'gpu' }, limiter: { mode: 'aimd', initial: 50 }, retryThrottled: {} },
          { limiter: { mode: 'aimd' } },
        ],
      }),
      { now: () => c.t, random: () => 0.5 },
    );
    for (let i = 0; i < 20; i++) {
      const a = shaper.admit({ scope: 'gpu' });
      if (a.ok) a.permit.release({ latencyMs: 80, status: 200 });
    }
    expect(shaper.isFastThrottle({ scope: 'gpu' }, 3)).toBe(true);
    expect(shaper.isFastThrottle({ scope: 'gpu' }, 60)).toBe(false);
    // a group without retryThrottled learns nothing and retries nothing
    expect(shaper.isFastThrottle({ scope: 'cpu' }, 0)).toBe(false);
    expect(shaper.stats().map((s) => s.throttleBoundMs)).toEqual([40, undefined]);
  });
});

describe('upstream Retry-After', () => {
  test('parses delay-seconds and HTTP-dates; malformed values are ignored', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:47 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:40 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:00 GMT', now)).toBe(0); // in the past
    for (const bad of [undefined, '', '-1', 'soon', '1e3', '2026-01-01', 'Sun, 06 Nov 1994 08:49:47'])
      expect(parseRetryAfter(bad, now)).toBeUndefined();
  });

  test('holds the group for that long, capped by upstreamRetryAfter.maxMs; false ignores it', () => {
    const c = { t: 0 };
    const shaper = createShaper(
      configOf({
        groups: [
          {
            match: { scope: 'a' },
            limiter: { mode: 'fixed', limit: 4 },
            upstreamRetryAfter: { maxMs: '5s' },
          },
          { match: { scope: 'b' }, limiter: { mode: 'fixed', limit: 4 }, upstreamRetryAfter: false },
          { limiter: { mode: 'fixed', limit: 4 } },
        ],
      }),
      { now: () => c.t, random: () => 0.5 },
    );
    expect(shaper.hold({ scope: 'a' }, 60_000)).toBe(5000);
    expect(shaper.hold({ scope: 'b' }, 60_000)).toBe(0);
    expect(shaper.hold({}, 60_000)).toBe(10_000); // the default cap
    c.t = 1000;
    expect(shaper.holdLeft({ scope: 'a' })).toBe(4000);
    const a = shaper.admit({ scope: 'a' });
    expect(a.ok && a.delayMs).toBe(4000);
    const refusal = shaper.holdRefusal({ scope: 'a' });
    expect(refusal.code).toBe('ERR_HUB_OVERLOADED');
    expect(refusal.headers['retry-after']).toBe('4');
    // a shorter Retry-After never shortens a hold in force
    shaper.hold({ scope: 'a' }, 1000);
    expect(shaper.holdLeft({ scope: 'a' })).toBe(4000);
    expect(shaper.stats().map((s) => [s.group, s.heldMs, s.retryAfterHolds, s.rejections])).toEqual([
      ['a', 4000, 2, 1],
      ['b', 0, 0, 0],
      ['*', 9000, 1, 0],
    ]);
    c.t = 5000;
    const after = shaper.admit({ scope: 'a' });
    expect(after.ok && after.delayMs).toBe(0);
  });
});

describe('front of the queue', () => {
  test('front listeners are woken before the others, each in the order it came', () => {
    const limiter = createConcurrencyLimiter({ mode: 'fixed', limit: 1 });
    const first = limiter.tryAcquire()!;
    const order: string[] = [];
    const wake = (name: string) => () => {
      if (limiter.tryAcquire()) order.push(name);
    };
    limiter.onAvailable(wake('queued-1'));
    limiter.onAvailable(wake('queued-2'));
    const offFront = limiter.onAvailable(wake('front'), { front: true });
    first.release();
    expect(order).toEqual(['front']);
    offFront();
    const spy = vi.fn();
    limiter.onAvailable(spy, { front: true })();
    expect(spy).not.toHaveBeenCalled();
  });
});
