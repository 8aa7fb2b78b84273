import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type TestRedis } from '../../../../test/helpers/redis.js';
import { createPolicySync, createRedisClient, waitReady } from '../../src/cluster/index.js';
import { duplicateForSubscribe } from '../../src/cluster/subscriber.js';
import { createPolicyEngine, type PolicyDoc } from '../../src/policy/index.js';

let server: TestRedis;
const clients: Redis[] = [];
let n = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.[Symbol.asyncDispose]();
});

async function client(): Promise<Redis> {
  const c = createRedisClient(server.url, { commandTimeoutMs: 2000 });
  clients.push(c);
  expect(await waitReady(c, 5000)).toBe(true);
  return c;
}

const rules = (limit: number): PolicyDoc => ({ ratelimits: [{ name: 'global', limit, window: '1m' }] });
const limitOf = (doc: PolicyDoc) => doc.ratelimits?.[0]?.limit;

describe('policy sync', () => {
  it('the first hub seeds Redis; later hubs load it instead of their own file', async () => {
    const keyPrefix = `ps${++n}:`;
    const a = createPolicySync({
      redis: await client(),
      engine: createPolicyEngine({ policy: rules(5) }),
      keyPrefix,
    });
    await a.start();
    expect(a.version).toBe(1);
    const bEngine = createPolicyEngine({ policy: rules(99) });
    const b = createPolicySync({ redis: await client(), engine: bEngine, keyPrefix });
    await b.start();
    expect(limitOf(bEngine.current())).toBe(5);
    expect(b.version).toBe(1);
    await a.close();
    await b.close();
  });

  it('an update on one hub is applied by the others within a second, with one version', async () => {
    const keyPrefix = `ps${++n}:`;
    const engines = [0, 1, 2].map(() => createPolicyEngine({ policy: rules(10) }));
    const applied: PolicyDoc[] = [];
    const syncs = await Promise.all(
      engines.map(async (engine) => {
        const s = createPolicySync({
          redis: await client(),
          engine,
          keyPrefix,
          onRemoteUpdate: (doc) => {
            applied.push(doc);
          },
        });
        await s.start();
        return s;
      }),
    );
    const t = performance.now();
    syncs[0]!.engine.update(rules(300));
    expect(limitOf(engines[0]!.current())).toBe(300);
    await vi.waitFor(
      () => {
        for (const e of engines) expect(limitOf(e.current())).toBe(300);
      },
      { timeout: 1000, interval: 5 },
    );
    expect(performance.now() - t).toBeLessThan(1000);
    expect(applied).toHaveLength(2);
    await syncs[0]!.flush();
    expect(syncs.map((s) => s.version)).toEqual([2, 2, 2]);
    // an invalid policy is refused locally and never reaches Redis
    expect(() => syncs[1]!.engine.update({ ratelimits: [{ name: 'x', limit: -1 }] })).toThrow(
      /invalid policy/,
    );
    await syncs[1]!.flush();
    expect(syncs[1]!.version).toBe(2);
    await Promise.all(syncs.map((s) => s.close()));
  });

  it('a hub whose subscription dropped re-reads the policy when it reconnects', async () => {
    const keyPrefix = `ps${++n}:`;
    const [ea, eb] = [createPolicyEngine({ policy: rules(1) }), createPolicyEngine({ policy: rules(1) })];
    const a = createPolicySync({ redis: await client(), engine: ea, keyPrefix });
    const b = createPolicySync({ redis: await client(), engine: eb, keyPrefix });
    await a.start();
    await b.start();
    const admin = await client();
    // every subscriber connection is dropped; they reconnect after ~100 ms, after this update
    await admin.client('KILL', 'TYPE', 'pubsub');
    a.engine.update(rules(77));
    await a.flush();
    await vi.waitFor(() => expect(limitOf(eb.current())).toBe(77), { timeout: 3000, interval: 10 });
    await Promise.all([a.close(), b.close()]);
  });

  it('a policy another build cannot apply is logged and skipped, not a crash', async () => {
    const keyPrefix = `ps${++n}:`;
    const redis = await client();
    await redis.hset(
      `${keyPrefix}policy`,
      'doc',
      '{"ratelimits":[{"name":"x","limit":"lots"}]}',
      'version',
      '7',
    );
    const events: string[] = [];
    const engine = createPolicyEngine({ policy: rules(3) });
    const s = createPolicySync({ redis, engine, keyPrefix, onEvent: (e) => events.push(e) });
    await s.start();
    expect(limitOf(engine.current())).toBe(3);
    expect(events).toEqual(['rejected']);
    expect(s.version).toBe(7);
    await s.close();
  });

  it('an update made while Redis is down applies locally and reaches Redis after it returns', async () => {
    const local = await startRedis();
    try {
      const redis = createRedisClient(local.url, { commandTimeoutMs: 2000 });
      clients.push(redis);
      await waitReady(redis, 5000);
      const engine = createPolicyEngine({ policy: rules(1) });
      const s = createPolicySync({ redis, engine, keyPrefix: 'down:' });
      await s.start();
      await local.stop();
      await vi.waitFor(() => expect(redis.status).not.toBe('ready'));
      s.engine.update(rules(42));
      await s.flush();
      expect(limitOf(engine.current())).toBe(42);
      await local.restart();
      const reader = createRedisClient(local.url, { commandTimeoutMs: 2000 });
      clients.push(reader);
      await waitReady(reader, 5000);
      await vi.waitFor(
        async () => expect(JSON.parse((await reader.hget('down:policy', 'doc')) ?? '{}')).toEqual(rules(42)),
        { timeout: 5000 },
      );
      await s.close();
    } finally {
      await local[Symbol.asyncDispose]();
    }
  });

  it('subscribes on a connection of its own without the request-path command timeout', async () => {
    const redis = await client();
    expect(redis.options.commandTimeout).toBe(2000);
    const sub = duplicateForSubscribe(redis);
    expect(sub.options.commandTimeout).toBeUndefined();
    expect(sub.options.enableOfflineQueue).toBe(true);
    expect(sub.options.port).toBe(server.port);
    sub.disconnect();
  });

  it('rejects bad options', () => {
    expect(() => createPolicySync({ redis: {} as never, engine: createPolicyEngine() })).toThrow(/redis/);
  });
});
