import { EventEmitter } from 'node:events';
import { describe, expect, test, vi } from 'vitest';
import { HubError } from '../../src/errors.js';
import type { ProxyResponse } from '../../src/pipeline/context.js';
import { createShaper, createShapingPolicy, validateShapingConfig } from '../../src/shaping/index.js';
import { fakeContext, throughDispatcher } from './fake-context.js';

function configOf(raw: unknown) {
  const r = validateShapingConfig(raw);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

const clock = () => {
  const c = { t: 0, now: () => c.t };
  return c;
};

describe('createShaper', () => {
  test('admits up to the limit, then 503 ERR_HUB_OVERLOADED with Retry-After; counts rejections', () => {
    const c = clock();
    const shaper = createShaper(
      configOf({
        groups: [{ match: { scope: 'gpu' }, retryAfterSeconds: 3, limiter: { mode: 'fixed', limit: 2 } }],
      }),
      { now: c.now, random: () => 0.5 },
    );
    const a = shaper.admit({ scope: 'gpu' });
    const b = shaper.admit({ scope: 'gpu' });
    const refused = shaper.admit({ scope: 'gpu' });
    expect(a.ok && b.ok).toBe(true);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.status).toBe(503);
    expect(refused.error.code).toBe('ERR_HUB_OVERLOADED');
    expect(refused.error.headers['retry-after']).toBe('3');
    // Other scopes are not shaped at all.
    expect(shaper.admit({ scope: 'cpu' }).ok).toBe(true);
    const woken = vi.fn();
    shaper.onAvailable({ scope: 'gpu' }, woken);
    if (a.ok) a.permit.release({ latencyMs: 10, status: 200 });
    expect(woken).toHaveBeenCalledTimes(1);
    expect(shaper.stats()).toEqual([
      expect.objectContaining({
        group: 'gpu',
        mode: 'fixed',
        limit: 2,
        inFlight: 1,
        rejections: 1,
        paced: false,
      }),
    ]);
  });

  test('pacing engages from released statuses and spaces admissions; CRITICAL_PLUS may bypass', () => {
    const c = clock();
    const shaper = createShaper(
      configOf({
        groups: [
          {
            pacing: { minSamples: 5, minSpacingMs: 100, bypassCriticalPlus: true },
            jitter: { maxDelayMs: 1 },
          },
        ],
      }),
      { now: c.now, random: () => 0.5 },
    );
    for (let i = 0; i < 5; i++) {
      const a = shaper.admit({});
      if (a.ok) a.permit.release({ latencyMs: 5, status: 500 });
    }
    expect(shaper.stats()[0]).toMatchObject({ group: '*', mode: 'none', paced: true, spacingMs: 100 });
    const delays = [shaper.admit({}), shaper.admit({}), shaper.admit({}, { critical: true })].map((a) =>
      a.ok ? a.delayMs : -1,
    );
    expect(delays).toEqual([0, 100, 0]);
  });

  test('per-agent groups keep one limiter per agent, and forget agents that left', () => {
    const shaper = createShaper(
      configOf({ groups: [{ per: 'agent', limiter: { mode: 'fixed', limit: 1 } }] }),
      {
        now: () => 0,
        random: () => 0.5,
      },
    );
    const held = shaper.admit({ agent: 'a1' });
    expect(held.ok).toBe(true);
    expect(shaper.admit({ agent: 'a1' }).ok).toBe(false);
    expect(shaper.admit({ agent: 'a2' }).ok).toBe(true);
    expect(shaper.stats().map((s) => s.group)).toEqual(['*', '*/a1', '*/a2']);
    // an agent that left keeps its slot counted until its last request ends
    shaper.forgetAgent('a1');
    expect(shaper.stats().map((s) => s.group)).toEqual(['*', '*/a1', '*/a2']);
    if (held.ok) held.permit.release({ latencyMs: 1, status: 200 });
    expect(shaper.stats().map((s) => s.group)).toEqual(['*', '*/a2']);
  });

  test('a Prometheus signal caps the limit of its group', async () => {
    const fetch = vi.fn(async () =>
      Response.json({ status: 'success', data: { resultType: 'vector', result: [{ value: [0, '200'] }] } }),
    );
    const shaper = createShaper(
      configOf({
        groups: [
          {
            limiter: { mode: 'aimd', initial: 40 },
            signal: {
              url: 'http://prom.test',
              queries: [{ query: 'q', warn: 100, emergency: 200 }],
              minFactor: 0.25,
            },
          },
        ],
      }),
      { now: () => 0, random: () => 0.5, fetch: fetch as unknown as typeof globalThis.fetch },
    );
    shaper.start();
    await vi.waitFor(() => expect(shaper.stats()[0]!.limit).toBe(10));
    expect(shaper.stats()[0]).toMatchObject({ learnedLimit: 40, signalFactor: 0.25 });
    expect(String((fetch.mock.calls[0] as unknown[])[0])).toBe('http://prom.test/api/v1/query?query=q');
    await shaper.close();
  });
});

function fakeResult(status: number): ProxyResponse {
  return {
    status,
    headers: [],
    servedBy: 'a1',
    body: { pipe: async () => {}, discard: () => {}, readAll: async () => new Uint8Array() },
  };
}

describe('createShapingPolicy', () => {
  const setup = (limit: number) => {
    const c = clock();
    const shaper = createShaper(configOf({ groups: [{ limiter: { mode: 'fixed', limit } }] }), {
      now: c.now,
      random: () => 0.5,
    });
    // a shaped request waits in the dispatcher's queue: `next` goes through one
    const { next } = throughDispatcher({ now: c.now });
    return { c, shaper, next, policy: createShapingPolicy(shaper, { now: c.now, random: () => 0.5 }) };
  };

  test('holds the slot until the response closes; a Slime-Block request waits and is woken at once', async () => {
    const { shaper, policy, next: through } = setup(1);
    const res = new EventEmitter();
    const first = fakeContext({}, {});
    Object.assign(first.ctx, { res });
    await policy(
      first.ctx,
      through(first.ctx, async () => {
        first.ctx.result = fakeResult(200);
      }),
    );
    expect(shaper.stats()[0]!.inFlight).toBe(1);

    const refused = fakeContext();
    await expect(policy(refused.ctx, through(refused.ctx))).rejects.toMatchObject({
      code: 'ERR_HUB_OVERLOADED',
    });

    const waiting = fakeContext({}, { block: true });
    const next = vi.fn(async () => {});
    const done = policy(waiting.ctx, through(waiting.ctx, next));
    await Promise.resolve();
    expect(next).not.toHaveBeenCalled();
    res.emit('close'); // the first response is over: its slot goes to the waiter
    await done;
    expect(next).toHaveBeenCalledTimes(1);
  });

  test('a waiting client that leaves is never forwarded and frees nothing it did not hold', async () => {
    const { shaper, policy, next: through } = setup(1);
    const holder = fakeContext();
    await policy(holder.ctx, through(holder.ctx)); // no result: slot released at once
    const a = shaper.admit({});
    const waiting = fakeContext({}, { block: true });
    const next = vi.fn(async () => {});
    const done = policy(waiting.ctx, through(waiting.ctx, next)).catch((e: unknown) => e);
    waiting.abort();
    expect(((await done) as HubError).code).toBe('ERR_HUB_CLIENT_GONE');
    if (a.ok) a.permit.release();
    expect(next).not.toHaveBeenCalled();
    expect(shaper.stats()[0]!.inFlight).toBe(0);
  });

  // #16: shaping's wait is the dispatcher's queue, bounded by its maxQueue (the hub's --max-queue),
  // which took over the policy's own maxWaiting bound and its check.
  test('the wait for a slot is bounded: past maxQueue a Slime-Block request gets 503 queue full', async () => {
    const c = clock();
    const shaper = createShaper(configOf({ groups: [{ limiter: { mode: 'fixed', limit: 1 } }] }), {
      now: c.now,
      random: () => 0.5,
    });
    const policy = createShapingPolicy(shaper, { now: c.now, random: () => 0.5 });
    const { next: through } = throughDispatcher({ now: c.now, maxQueue: 2 });
    expect(() => throughDispatcher({ now: c.now, maxQueue: 0 })).toThrow(RangeError);
    const held = shaper.admit({});
    const waiters = [fakeContext({}, { block: true }), fakeContext({}, { block: true })];
    const pending = waiters.map((w) => policy(w.ctx, through(w.ctx)).catch((e: unknown) => e));
    const third = fakeContext({}, { block: true });
    await expect(policy(third.ctx, through(third.ctx))).rejects.toMatchObject({
      code: 'ERR_HUB_QUEUE_FULL',
      headers: { 'retry-after': '1' },
    });
    // a waiter that leaves makes room again
    waiters[0]!.abort();
    expect(((await pending[0]) as HubError).code).toBe('ERR_HUB_CLIENT_GONE');
    const fourth = fakeContext({}, { block: true });
    const admitted = policy(fourth.ctx, through(fourth.ctx));
    if (held.ok) held.permit.release();
    await pending[1];
    await admitted;
  });

  test('upstream failures teach the limiter; a client leaving does not', async () => {
    const c = clock();
    const shaper = createShaper(configOf({ groups: [{ limiter: { mode: 'aimd', initial: 10, min: 1 } }] }), {
      now: c.now,
      random: () => 0.5,
    });
    const policy = createShapingPolicy(shaper, { now: c.now, random: () => 0.5 });
    const { next: through } = throughDispatcher({ now: c.now });
    const fail = (code: 'ERR_HUB_CLIENT_GONE' | 'ERR_HUB_UPSTREAM_TIMEOUT') => {
      const { ctx } = fakeContext();
      return policy(
        ctx,
        through(ctx, async () => {
          throw new HubError(code, 'x');
        }),
      ).catch(() => {});
    };
    await fail('ERR_HUB_CLIENT_GONE');
    expect(shaper.stats()[0]!.limit).toBe(10);
    await fail('ERR_HUB_UPSTREAM_TIMEOUT');
    expect(shaper.stats()[0]!.limit).toBe(9);
    expect(shaper.stats()[0]!.inFlight).toBe(0);
  });
});
