import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../../../test/helpers/redis.js';
import { createRedisClient, createRedisStore, waitReady } from '../../src/cluster/index.js';
import { HubError } from '../../src/errors.js';
import { createMemoryStore } from '../../src/policy/memory-store.js';
import type { LimitSpec } from '../../src/policy/store.js';

const T0 = 3_600_000 * 400_000;

let server: TestRedis;
let redis: Redis;
let prefixN = 0;
const prefix = () => `t${++prefixN}:`;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient(server.url, { commandTimeoutMs: 2000 });
  expect(await waitReady(redis, 5000)).toBe(true);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.[Symbol.asyncDispose]();
});

const spec = (over: Partial<LimitSpec> & Pick<LimitSpec, 'id'>): LimitSpec => ({
  algorithm: 'sliding-window',
  limit: 10,
  windowMs: 60_000,
  burst: 10,
  cost: 1,
  ...over,
});

describe('redis store', () => {
  it('agrees with the memory store on every algorithm, op for op (property)', async () => {
    const specs: LimitSpec[] = [
      spec({ id: 'sw\u0000a', limit: 5, windowMs: 1000 }),
      spec({ id: 'fw\u0000a', algorithm: 'fixed-window', limit: 4, windowMs: 700 }),
      spec({ id: 'tb\u0000a', algorithm: 'token-bucket', limit: 3, windowMs: 900, burst: 6 }),
      spec({ id: 'bytes\u0000a', limit: 1000, windowMs: 1500, cost: 0 }),
    ];
    const op = fc.record({
      advance: fc.integer({ min: 0, max: 800 }),
      which: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
      cost: fc.integer({ min: 0, max: 400 }),
      charge: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const memory = createMemoryStore();
        const store = createRedisStore({ redis, keyPrefix: prefix(), clock: 'hub', timeoutMs: 2000 });
        let now = T0 + 123;
        for (const o of ops) {
          now += o.advance;
          const limits = o.which.map((i) =>
            specs[i]!.id.startsWith('bytes') ? { ...specs[i]!, cost: o.cost } : specs[i]!,
          );
          if (o.charge) {
            await memory.charge(limits, o.cost, now);
            await store.charge(limits, o.cost, now);
          } else {
            expect(await store.checkAndCharge(limits, now)).toEqual(await memory.checkAndCharge(limits, now));
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('charges all or none: one exhausted limit charges nothing else', async () => {
    const store = createRedisStore({ redis, keyPrefix: prefix(), clock: 'hub' });
    const a = spec({ id: 'a\u0000', limit: 1 });
    const b = spec({ id: 'b\u0000', limit: 5 });
    expect((await store.checkAndCharge([a, b], T0)).admitted).toBe(true);
    const denied = await store.checkAndCharge([a, b], T0 + 1);
    expect(denied.admitted).toBe(false);
    expect(denied.limits.map((l) => l.allowed)).toEqual([false, true]);
    // b was charged once only: 4 left before this request, 3 after it
    expect((await store.checkAndCharge([b], T0 + 2)).limits[0]!.remaining).toBe(3);
  });

  it('keeps keys in one hash-tag slot with an expiry', async () => {
    const p = prefix();
    const store = createRedisStore({ redis, keyPrefix: p });
    await store.checkAndCharge([spec({ id: 'x\u0000v' })], Date.now());
    const keys = await redis.keys(`${p}*`);
    expect(keys).toEqual([`${p}{rl}:x\u0000v`]);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
  });

  it('reloads the script after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const store = createRedisStore({ redis, keyPrefix: prefix() });
    const l = spec({ id: 'n\u0000', limit: 2 });
    await store.checkAndCharge([l], 0);
    await redis.script('FLUSH');
    const r = await store.checkAndCharge([l], 0);
    expect(r.limits[0]!.remaining).toBe(0);
    expect((await store.checkAndCharge([l], 0)).admitted).toBe(false);
  });

  it('a slow Redis answers by the fail mode within the timeout, and is counted', async () => {
    const failures: string[] = [];
    const open = createRedisStore({
      redis,
      keyPrefix: prefix(),
      timeoutMs: 50,
      onFailure: (op, failure, mode) => failures.push(`${op}:${failure}:${mode}`),
    });
    const closed = createRedisStore({ redis, keyPrefix: prefix(), timeoutMs: 50, failMode: 'fail-closed' });
    const admin = new Redis(server.url);
    try {
      await admin.client('PAUSE', 400, 'ALL');
      const l = spec({ id: 'p\u0000', limit: 1 });
      const t = performance.now();
      const r = await open.checkAndCharge([l, l], 0);
      expect(r.admitted).toBe(true);
      await expect(closed.checkAndCharge([l], 0)).rejects.toSatisfy(
        (e) => e instanceof HubError && e.code === 'ERR_HUB_OVERLOADED' && e.status === 503,
      );
      // generous bound: two 50 ms timeouts, far less than the 400 ms pause
      expect(performance.now() - t).toBeLessThan(350);
      expect(failures).toEqual(['check:timeout:fail-open']);
    } finally {
      await admin.client('UNPAUSE');
      admin.disconnect();
    }
  });

  it('rejects bad options naming the option', () => {
    expect(() => createRedisStore({ redis, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createRedisStore({ redis, failMode: 'maybe' as never })).toThrow(/failMode/);
    expect(() => createRedisStore({ redis: {} as never })).toThrow(/redis/);
    expect(() => createRedisClient('http://x')).toThrow(/redis url/);
  });
});
