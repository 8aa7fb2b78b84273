import { describe, expect, it } from 'vitest';
import { createPolicyEngine, type RateLimitRule } from '../../src/policy/index.js';
import { fakeClock } from './fake-context.js';
import { admittedOf, send, statusOf } from './run-policies.js';

// A start on a whole minute, so windows line up with the numbers in the tests.
const T0 = 60_000 * 20_000_000;

function setup(ratelimits: RateLimitRule[]) {
  const clock = fakeClock(T0);
  const engine = createPolicyEngine({ policy: { ratelimits }, now: clock.now });
  return { clock, engine };
}

describe('rate limits: scopes and keys', () => {
  it('node limit counts every request', async () => {
    const { engine } = setup([{ name: 'node', limit: 3 }]);
    expect(statusOf(await send(engine, { target: '/a', ip: '1.1.1.1' }))).toBe(200);
    expect(statusOf(await send(engine, { target: '/b', ip: '2.2.2.2' }))).toBe(200);
    expect(statusOf(await send(engine, { target: '/c', method: 'POST' }))).toBe(200);
    const r = await send(engine, { target: '/d' });
    expect(statusOf(r)).toBe(429);
    expect(r.ok ? '' : r.err.code).toBe('ERR_HUB_RATE_LIMITED');
  });

  it('path limit counts only matching requests', async () => {
    const { engine } = setup([{ name: 'core', limit: 2, match: { pathPrefix: '/api/v1/core/' } }]);
    expect(await admittedOf(engine, 4, { target: '/api/v1/core/x' })).toBe(2);
    expect(await admittedOf(engine, 4, { target: '/api/v1/other' })).toBe(4);
  });

  it('param limit: one counter per value under *, and a specific-value rule overrides *', async () => {
    const { engine } = setup([
      { name: 'per-account', key: 'param:account_id', limit: 2 },
      { name: 'account-1057', key: 'param:account_id', value: '1057', limit: 5 },
    ]);
    expect(await admittedOf(engine, 4, { target: '/?account_id=1' })).toBe(2);
    expect(await admittedOf(engine, 4, { target: '/?account_id=2' })).toBe(2);
    expect(await admittedOf(engine, 7, { target: '/?account_id=1057' })).toBe(5);
    // no value: the keyed rules do not apply
    expect(await admittedOf(engine, 6, { target: '/' })).toBe(6);
  });

  it('header limit: names are case-insensitive, values keyed separately', async () => {
    const { engine } = setup([{ name: 'per-key', key: 'header:X-Api-Key', limit: 2 }]);
    expect(statusOf(await send(engine, { headers: { 'x-api-key': 'k1' } }))).toBe(200);
    expect(statusOf(await send(engine, { headers: { 'X-API-KEY': 'k1' } }))).toBe(200);
    expect(statusOf(await send(engine, { headers: { 'X-Api-Key': 'k1' } }))).toBe(429);
    expect(statusOf(await send(engine, { headers: { 'x-api-key': 'k2' } }))).toBe(200);
  });

  it('per-IP keys (v4 and v6) and a CIDR rule with one shared counter', async () => {
    const { engine } = setup([
      { name: 'per-ip', key: 'ip', limit: 2 },
      { name: 'office', match: { ip: ['10.0.0.0/8', '2001:db8::/32'] }, limit: 5 },
    ]);
    expect(await admittedOf(engine, 3, { ip: '198.51.100.1' })).toBe(2);
    expect(await admittedOf(engine, 3, { ip: '::ffff:198.51.100.2' })).toBe(2);
    // the mapped and plain spellings are one client
    expect(await admittedOf(engine, 1, { ip: '::ffff:198.51.100.1' })).toBe(0);
    expect(await admittedOf(engine, 3, { ip: '2001:db9::1' })).toBe(2);
    expect(await admittedOf(engine, 2, { ip: '10.0.0.1' })).toBe(2);
    expect(await admittedOf(engine, 2, { ip: '10.0.0.2' })).toBe(2);
    // the office range shares 5: 4 used above, so one more from anywhere in it
    expect(await admittedOf(engine, 2, { ip: '2001:db8::9' })).toBe(1);
  });

  it('repeated query parameters are still matched and charged on every distinct value', async () => {
    const { engine } = setup([{ name: 'a1', key: 'param:a', value: '1', limit: 2 }]);
    expect(statusOf(await send(engine, { target: '/?a=1&a=1' }))).toBe(200);
    expect(statusOf(await send(engine, { target: '/?a=2&a=1' }))).toBe(200);
    expect(statusOf(await send(engine, { target: '/?a=2&a=1' }))).toBe(429);
    expect(statusOf(await send(engine, { target: '/?a=2' }))).toBe(200);
  });

  it('app and scope keys', async () => {
    const { engine } = setup([
      { name: 'per-app', key: 'app', limit: 1 },
      { name: 'gpu', match: { scope: 'gpu' }, limit: 1 },
    ]);
    expect(await admittedOf(engine, 2, { app: 'a' })).toBe(1);
    expect(await admittedOf(engine, 2, { app: 'b' })).toBe(1);
    expect(await admittedOf(engine, 2, { scope: 'gpu' })).toBe(1);
  });
});

describe('rate limits: what is counted', () => {
  it('requests denied by access rules consume no quota', async () => {
    const clock = fakeClock(T0);
    const engine = createPolicyEngine({
      now: clock.now,
      policy: {
        access: [{ action: 'deny', match: { ip: '6.6.6.6' } }],
        ratelimits: [{ name: 'node', limit: 2 }],
      },
    });
    expect(await admittedOf(engine, 5, { ip: '6.6.6.6' })).toBe(0);
    expect(await admittedOf(engine, 3, { ip: '1.1.1.1' })).toBe(2);
  });

  it('rejected requests are not counted (the next window is not poisoned)', async () => {
    const { engine, clock } = setup([{ name: 'sw', limit: 10 }]);
    expect(await admittedOf(engine, 110, {})).toBe(10);
    // half-way through the next window the previous one weighs half: 5 left, not 0
    clock.advance(90_000);
    const r = await send(engine);
    expect(r.ok && r.ctx.responseHeaders.ratelimit).toBe('"sw";r=4;t=30');
  });

  it('charges all limits or none', async () => {
    const { engine } = setup([
      { name: 'node', limit: 100 },
      { name: 'x', match: { path: '/x' }, limit: 1 },
    ]);
    expect(statusOf(await send(engine, { target: '/x' }))).toBe(200);
    const denied = await send(engine, { target: '/x' });
    expect(statusOf(denied)).toBe(429);
    const y = await send(engine, { target: '/y' });
    // node was charged for the first /x and for /y, not for the rejected /x
    expect(y.ok && y.ctx.responseHeaders.ratelimit).toBe('"node";r=98;t=60');
  });
});
