import { describe, expect, it } from 'vitest';
import { createMemoryStore, createPolicyEngine, type PolicyDoc } from '../../src/policy/index.js';
import { fakeClock } from './fake-context.js';
import { admittedOf, send } from './run-policies.js';

const remaining = async (engine: Parameters<typeof send>[0], target = '/') => {
  const r = await send(engine, { target });
  return r.ok ? r.ctx.responseHeaders.ratelimit : `denied ${r.err.code}`;
};

describe('policy engine', () => {
  it('validates its options', () => {
    expect(() => createPolicyEngine({ now: 5 as never })).toThrow(TypeError);
    expect(() => createPolicyEngine({ policy: { ratelimits: [{ name: 'x' }] } })).toThrow(/needs a limit/);
    expect(() => createPolicyEngine({ trustedProxies: ['x'] })).toThrow(TypeError);
  });

  it('hot update keeps counters of unchanged rules and resets changed ones', async () => {
    const clock = fakeClock(60_000 * 20_000_000);
    const store = createMemoryStore();
    const v1: PolicyDoc = {
      ratelimits: [
        { name: 'keep', limit: 10, algorithm: 'fixed-window' },
        { name: 'change', limit: 10, algorithm: 'fixed-window' },
        { name: 'drop', limit: 10, algorithm: 'fixed-window' },
      ],
    };
    const engine = createPolicyEngine({ policy: v1, now: clock.now, store });
    expect(await admittedOf(engine, 4)).toBe(4);
    expect(store.size).toBe(3);
    // same definition written with another key order still counts as unchanged
    engine.update({
      ratelimits: [
        { algorithm: 'fixed-window', limit: 10, name: 'keep' },
        { name: 'change', limit: 20, algorithm: 'fixed-window' },
      ],
    });
    expect(await remaining(engine)).toBe('"keep";r=5;t=60, "change";r=19;t=60');
    expect(store.size).toBe(2);
  });

  it('an invalid update throws and leaves the old policy and counters in force', async () => {
    const clock = fakeClock(60_000 * 20_000_000);
    const v1: PolicyDoc = { ratelimits: [{ name: 'node', limit: 3, algorithm: 'fixed-window' }] };
    const engine = createPolicyEngine({ policy: v1, now: clock.now });
    await send(engine);
    expect(() => engine.update({ ratelimits: [{ name: 'node', limit: 0 }], nope: 1 })).toThrow(
      /nope is not a known section[\s\S]*ratelimits\[0\]\.limit must be a positive integer/,
    );
    expect(engine.current()).toEqual(v1);
    expect(await remaining(engine)).toBe('"node";r=1;t=60');
  });

  it('current() is a copy the caller cannot use to change the rules', async () => {
    const engine = createPolicyEngine({ policy: { access: [{ action: 'deny', match: { path: '/x' } }] } });
    const doc = engine.current();
    doc.access = [];
    expect((await send(engine, { target: '/x' })).ok).toBe(false);
  });

  it('requests in flight finish under the rules they started with', async () => {
    const engine = createPolicyEngine({ policy: { access: [{ action: 'deny', match: { path: '/x' } }] } });
    engine.update({});
    expect((await send(engine, { target: '/x' })).ok).toBe(true);
    engine.update({ access: [{ action: 'deny', match: { path: '/x' } }] });
    expect((await send(engine, { target: '/x' })).ok).toBe(false);
  });

  it('with no rules every step passes requests through; rules added later apply to the next request', async () => {
    const clock = fakeClock(60_000 * 20_000_000);
    const engine = createPolicyEngine({ now: clock.now });
    const plain = await send(engine, { target: '/a%2fb' });
    expect(plain.ok).toBe(true);
    expect(plain.ctx.responseHeaders.ratelimit).toBeUndefined();
    const idle = () => [...engine.slots().access, ...engine.slots().rateLimits].map((p) => p.idle?.());
    // compose passes over idle steps; the client address step always runs
    expect(idle()).toEqual([undefined, true, true]);
    engine.update({
      paths: { rejectAmbiguous: true },
      ratelimits: [{ name: 'all', limit: 1, algorithm: 'fixed-window' }],
    });
    const ambiguous = await send(engine, { target: '/a%2fb' });
    expect(ambiguous.ok ? 'passed' : ambiguous.err.code).toBe('ERR_HUB_MALFORMED_REQUEST');
    expect(await remaining(engine)).toBe('"all";r=0;t=60');
    expect(await remaining(engine)).toBe('denied ERR_HUB_RATE_LIMITED');
    expect(idle()).toEqual([undefined, false, false]);
    engine.update({});
    expect((await send(engine, { target: '/a%2fb' })).ok).toBe(true);
  });

  it('the memory store forgets the least recently used counter beyond its bound', async () => {
    const store = createMemoryStore({ maxCounters: 2 });
    const engine = createPolicyEngine({
      store,
      policy: { ratelimits: [{ name: 'ip', key: 'ip', limit: 1 }] },
    });
    expect(await admittedOf(engine, 2, { ip: '1.1.1.1' })).toBe(1);
    await admittedOf(engine, 1, { ip: '1.1.1.2' });
    await admittedOf(engine, 1, { ip: '1.1.1.3' });
    expect(store.size).toBe(2);
    // 1.1.1.1 was evicted and starts afresh
    expect(await admittedOf(engine, 1, { ip: '1.1.1.1' })).toBe(1);
    expect(() => createMemoryStore({ maxCounters: 0 })).toThrow(RangeError);
  });
});
