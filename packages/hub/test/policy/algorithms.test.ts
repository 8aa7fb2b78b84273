import { describe, expect, it } from 'vitest';
import { compose } from '../../src/pipeline/compose.js';
import { createPolicyEngine, type RateLimitRule } from '../../src/policy/index.js';
import { fakeClock, fakeContext } from './fake-context.js';
import { admittedOf, send, statusOf } from './run-policies.js';

// A start on a whole hour, so windows line up with the numbers in the tests.
const T0 = 3_600_000 * 400_000;

function setup(ratelimits: RateLimitRule[]) {
  const clock = fakeClock(T0);
  const engine = createPolicyEngine({ policy: { ratelimits }, now: clock.now });
  return { clock, engine };
}

describe('sliding window', () => {
  it('does not admit a 2x burst across a window boundary', async () => {
    const { engine, clock } = setup([{ name: 'sw', limit: 10, window: '1m' }]);
    clock.set(T0 + 60_000 - 1); // last millisecond of a window
    expect(await admittedOf(engine, 10)).toBe(10);
    clock.set(T0 + 60_000 + 1); // just after the boundary
    expect(await admittedOf(engine, 10)).toBe(0);
    clock.set(T0 + 60_000 + 30_000);
    const half = await admittedOf(engine, 10);
    expect(half).toBe(5);
    // within one minute of the burst, far less than twice the limit got through
    expect(10 + half).toBeLessThan(20);
  });

  it('a fixed window, by contrast, starts afresh at the boundary', async () => {
    const { engine, clock } = setup([{ name: 'fw', limit: 10, algorithm: 'fixed-window' }]);
    clock.set(T0 + 60_000 - 1);
    expect(await admittedOf(engine, 10)).toBe(10);
    clock.set(T0 + 60_000);
    expect(await admittedOf(engine, 11)).toBe(10);
  });

  it('Retry-After is when a request would pass, and it does pass then', async () => {
    const { engine, clock } = setup([{ name: 'sw', limit: 10, window: '1m' }]);
    clock.set(T0 + 60_000 - 1);
    await admittedOf(engine, 10);
    clock.set(T0 + 60_000);
    const denied = await send(engine);
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    // prev 10 must weigh <= 9: a tenth of the window, 6 s
    expect(denied.err.headers['retry-after']).toBe('6');
    expect(denied.err.headers['ratelimit-policy']).toBe('"sw";q=10;w=60');
    expect(denied.err.headers.ratelimit).toBe('"sw";r=0;t=6');
    clock.set(T0 + 60_000 + 5_999);
    expect(statusOf(await send(engine))).toBe(429);
    clock.set(T0 + 66_000);
    expect(statusOf(await send(engine))).toBe(200);
  });
});

describe('fixed window headers', () => {
  it('RateLimit on admitted responses, Retry-After and RateLimit on the 429', async () => {
    const { engine, clock } = setup([{ name: 'fixed', limit: 2, window: 60, algorithm: 'fixed-window' }]);
    clock.set(T0 + 15_000);
    const first = await send(engine);
    expect(first.ctx.responseHeaders).toEqual({
      'ratelimit-policy': '"fixed";q=2;w=60',
      ratelimit: '"fixed";r=1;t=45',
    });
    const second = await send(engine);
    expect(second.ctx.responseHeaders.ratelimit).toBe('"fixed";r=0;t=45');
    const third = await send(engine);
    expect(third.ok).toBe(false);
    if (third.ok) return;
    expect(third.err.status).toBe(429);
    expect(third.err.headers).toEqual({
      'retry-after': '45',
      'ratelimit-policy': '"fixed";q=2;w=60',
      ratelimit: '"fixed";r=0;t=45',
    });
    expect(third.ctx.notes.rateLimit).toBe('fixed');
  });

  it('lists every matched rule; Retry-After is the longest wait among the rules that refused', async () => {
    const { engine } = setup([
      { name: 'burst', limit: 1, window: '1s', algorithm: 'fixed-window' },
      { name: 'hour', limit: 1, window: '1h', algorithm: 'fixed-window' },
    ]);
    const ok = await send(engine);
    expect(ok.ctx.responseHeaders['ratelimit-policy']).toBe('"burst";q=1;w=1, "hour";q=1;w=3600');
    const denied = await send(engine);
    expect(denied.ok ? '' : denied.err.headers['retry-after']).toBe('3600');
  });
});

describe('token bucket', () => {
  it('admits a burst, then refills at the rate, never above the burst', async () => {
    const { engine, clock } = setup([
      { name: 'tb', algorithm: 'token-bucket', limit: 10, window: '10s', burst: 5 },
    ]);
    expect(await admittedOf(engine, 7)).toBe(5);
    clock.advance(1_000);
    expect(await admittedOf(engine, 1)).toBe(1);
    const denied = await send(engine);
    expect(denied.ok ? '' : denied.err.headers['retry-after']).toBe('1');
    clock.advance(3_000);
    expect(await admittedOf(engine, 5)).toBe(3);
    clock.advance(100_000);
    expect(await admittedOf(engine, 10)).toBe(5);
  });

  it('reports remaining tokens and the time to refill', async () => {
    const { engine } = setup([{ name: 'tb', algorithm: 'token-bucket', limit: 1, window: '1s', burst: 4 }]);
    const r = await send(engine);
    expect(r.ctx.responseHeaders.ratelimit).toBe('"tb";r=3;t=1');
  });
});

describe('bandwidth limits', () => {
  it('charges the request Content-Length at admission', async () => {
    const { engine } = setup([{ name: 'bw', unit: 'bytes', limit: 1000, algorithm: 'fixed-window' }]);
    const big = { method: 'POST', headers: { 'content-length': '600' } };
    const ok = await send(engine, big);
    expect(ok.ctx.responseHeaders['ratelimit-policy']).toBe('"bw";q=1000;w=60;qu="content-bytes"');
    expect(ok.ctx.responseHeaders.ratelimit).toBe('"bw";r=400;t=60');
    expect(statusOf(await send(engine, big))).toBe(429);
    expect(statusOf(await send(engine, { method: 'POST', headers: { 'content-length': '400' } }))).toBe(200);
  });

  it('charges response bytes as they flow, and request bytes without Content-Length', async () => {
    const { engine } = setup([{ name: 'bw', unit: 'bytes', limit: 1000, algorithm: 'fixed-window' }]);
    const a = await send(engine);
    engine.onResponseBytes(a.ctx, 500);
    engine.onResponseBytes(a.ctx, 499);
    // one byte left: a bodiless request still passes
    const b = await send(engine, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    expect(statusOf(b)).toBe(200);
    engine.onRequestBytes(b.ctx, 1);
    expect(statusOf(await send(engine))).toBe(429);
  });

  it('does not count request bytes twice when Content-Length was charged', async () => {
    const { engine } = setup([{ name: 'bw', unit: 'bytes', limit: 1000, algorithm: 'fixed-window' }]);
    const a = await send(engine, { method: 'POST', headers: { 'content-length': '900' } });
    engine.onRequestBytes(a.ctx, 900);
    expect(statusOf(await send(engine, { method: 'POST', headers: { 'content-length': '100' } }))).toBe(200);
  });

  it('a request larger than the whole quota is refused with a window-long Retry-After', async () => {
    const { engine } = setup([{ name: 'bw', unit: 'bytes', limit: 100, window: '10s' }]);
    const r = await send(engine, { method: 'POST', headers: { 'content-length': '101' } });
    expect(r.ok ? '' : r.err.headers['retry-after']).toBe('10');
  });
});

describe('concurrency', () => {
  it('refuses beyond N in flight with 503 and frees the slot when the response closes', async () => {
    const { engine } = setup([{ name: 'one-at-a-time', concurrency: 1, match: { pathPrefix: '/gpu' } }]);
    const { access, rateLimits } = engine.slots();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held = fakeContext({ target: '/gpu/1' });
    const slow = compose([
      ...access,
      ...rateLimits,
      async function dispatch() {
        await gate;
      },
    ])(held);
    const second = await send(engine, { target: '/gpu/2' });
    expect(second.ok ? 0 : second.err.code).toBe('ERR_HUB_OVERLOADED');
    expect(statusOf(await send(engine, { target: '/cpu' }))).toBe(200);
    release();
    await slow;
    // dispatched but the body is still being written: the slot stays taken
    expect(statusOf(await send(engine, { target: '/gpu/3' }))).toBe(503);
    held.res.emit('close');
    const third = await send(engine, { target: '/gpu/3' });
    expect(statusOf(third)).toBe(200);
    engine.onRequestEnd(third.ctx);
    expect(statusOf(await send(engine, { target: '/gpu/4' }))).toBe(200);
  });

  it('frees the slot at once when a later policy throws', async () => {
    const { engine } = setup([{ name: 'one', concurrency: 1 }]);
    const { rateLimits } = engine.slots();
    const failing = compose([
      ...rateLimits,
      async function dispatch() {
        throw new Error('no agent');
      },
    ]);
    await expect(failing(fakeContext())).rejects.toThrow('no agent');
    expect(statusOf(await send(engine))).toBe(200);
  });

  it('a request refused by a rate limit gives its concurrency slot back', async () => {
    const { engine } = setup([
      { name: 'c', concurrency: 1 },
      { name: 'r', limit: 1 },
    ]);
    const first = await send(engine);
    engine.onRequestEnd(first.ctx);
    expect(statusOf(await send(engine))).toBe(429);
    // had the 429 kept its slot, concurrency (checked first) would now answer 503
    const third = await send(engine);
    expect(third.ok ? '' : third.err.code).toBe('ERR_HUB_RATE_LIMITED');
  });
});
