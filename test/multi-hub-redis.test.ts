import { once } from 'node:events';
import {
  createRedisClient,
  createRedisRevocations,
  type FailMode,
  type PolicyDoc,
  type PolicyEngine,
  signAgentToken,
  waitReady,
} from '@slime/hub';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SECRET,
  startAgent,
  startHub,
  startUpstream,
  type TestAgent,
  type TestHub,
} from './helpers/harness.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const ADMIN_TOKEN = 'admin-token-for-tests';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface ClusterHub {
  test: TestHub;
  closes: number[];
  /** The store's failures so far, as `op:failure:mode` (from the hub's metrics). */
  failures(): Promise<string[]>;
  adminUrl: string;
  engine: PolicyEngine;
}

/** One hub with `cluster`: shared counters, policy and deny list, as `slime hub run --redis`. */
async function startClusterHub(
  redisUrl: string,
  opts: { policy?: PolicyDoc; timeoutMs?: number; failMode?: FailMode } = {},
): Promise<ClusterHub> {
  const closes: number[] = [];
  const test = await startHub({
    ...(opts.policy ? { policy: opts.policy } : {}),
    cluster: {
      redis: redisUrl,
      timeoutMs: opts.timeoutMs ?? 50,
      failMode: opts.failMode ?? 'fail-open',
      connectWaitMs: 5000,
    },
    admin: { token: ADMIN_TOKEN, port: 0 },
    hooks: { onAgentClosed: (_a, code) => closes.push(code) },
  });
  cleanups.push(async () => {
    test.hub.destroy();
    await test.hub.close();
  });
  const failures = async () => {
    const metric = await test.hub.metrics.registry
      .getSingleMetric('slime_ratelimit_store_failures_total')
      ?.get();
    return (metric?.values ?? []).flatMap((v) =>
      Array.from({ length: v.value }, () => `${v.labels.op}:${v.labels.failure}:${v.labels.mode}`),
    );
  };
  return {
    test,
    closes,
    failures,
    adminUrl: `http://127.0.0.1:${test.hub.adminAddress!.port}`,
    engine: test.hub.engine,
  };
}

async function startRedisForTest(): Promise<TestRedis> {
  const r = await startRedis();
  cleanups.unshift(() => r[Symbol.asyncDispose]());
  return r;
}

async function agentOn(hub: TestHub, upstreamUrl: string, extra: Parameters<typeof startAgent>[2] = {}) {
  const a = await startAgent(hub, upstreamUrl, { numWorker: 16, ...extra });
  cleanups.push(() => a.agent.destroy());
  return a;
}

const get = (url: string) => fetch(url, { headers: { 'slime-block': '1' } });

describe('three hubs, one Redis', () => {
  it('a global limit of 300/min admits at most 300 (+ one per hub) under load spread over the hubs', async () => {
    const redis = await startRedisForTest();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const policy: PolicyDoc = { ratelimits: [{ name: 'global', limit: 300, window: '1m' }] };
    // A generous timeout: this test is about accuracy, not about a slow Redis.
    const hubs: ClusterHub[] = [];
    for (let i = 0; i < 3; i++) hubs.push(await startClusterHub(redis.url, { policy, timeoutMs: 2000 }));
    for (const h of hubs) await agentOn(h.test, upstream.url);
    const statuses: number[] = [];
    let next = 0;
    const total = 480;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < total) {
          const h = hubs[next++ % 3]!;
          const res = await get(`${h.test.url}/x`);
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(ok + limited).toBe(total);
    expect(ok).toBeLessThanOrEqual(300 + 3);
    // No fail-open admissions happened, so the only slack is the sliding window's interpolation.
    expect(ok).toBeGreaterThanOrEqual(295);
    expect((await Promise.all(hubs.map((h) => h.failures()))).flat()).toEqual([]);
    expect(upstream.count).toBe(ok);
  });

  it('a policy update through hub 1 is in force on hubs 2 and 3 within a second', async () => {
    const redis = await startRedisForTest();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const hubs: ClusterHub[] = [];
    for (let i = 0; i < 3; i++) hubs.push(await startClusterHub(redis.url));
    for (const h of hubs) await agentOn(h.test, upstream.url);
    for (const h of hubs) expect((await get(`${h.test.url}/admin-only`)).status).toBe(200);
    const t = performance.now();
    const res = await fetch(`${hubs[0]!.adminUrl}/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access: [{ action: 'deny', match: { path: '/admin-only' } }] }),
    });
    expect(res.status).toBe(200);
    await vi.waitFor(
      async () => {
        for (const h of hubs) expect((await get(`${h.test.url}/admin-only`)).status).toBe(403);
      },
      { timeout: 1000, interval: 10 },
    );
    expect(performance.now() - t).toBeLessThan(1000);
    expect((await get(`${hubs[2]!.test.url}/other`)).status).toBe(200);
    // a hub started later loads the shared policy, not its own
    const late = await startClusterHub(redis.url, { policy: {} });
    expect(late.engine.current().access).toHaveLength(1);
  });

  it('Redis stopped: requests are not held beyond the timeout and follow the fail mode', async () => {
    const redis = await startRedisForTest();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const policy: PolicyDoc = { ratelimits: [{ name: 'global', limit: 1000, window: '1m' }] };
    const open = await startClusterHub(redis.url, { policy, failMode: 'fail-open' });
    const closed = await startClusterHub(redis.url, { policy, failMode: 'fail-closed' });
    await agentOn(open.test, upstream.url);
    await agentOn(closed.test, upstream.url);
    expect((await get(`${closed.test.url}/`)).status).toBe(200);

    // Slow first: Redis paused, every call waits for the 50 ms budget.
    const admin = createRedisClient(redis.url, { commandTimeoutMs: 2000 });
    await waitReady(admin, 5000);
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    let t = performance.now();
    expect((await get(`${open.test.url}/`)).status).toBe(200);
    const r = await get(`${closed.test.url}/`);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(((await r.json()) as { code: string }).code).toBe('ERR_HUB_OVERLOADED');
    // generous: two requests, each at most the 50 ms budget plus the proxying, well under the pause
    expect(performance.now() - t).toBeLessThan(1000);
    admin.disconnect();

    // Then down: calls fail at once.
    await redis.stop();
    t = performance.now();
    for (let i = 0; i < 5; i++) {
      expect((await get(`${open.test.url}/`)).status).toBe(200);
      expect((await get(`${closed.test.url}/`)).status).toBe(503);
    }
    expect(performance.now() - t).toBeLessThan(2000);
    expect(await open.failures()).toContain('check:timeout:fail-open');
    expect(await open.failures()).toContain('check:error:fail-open');
    expect(await closed.failures()).toContain('check:error:fail-closed');

    // And back: the limits apply again.
    await redis.restart();
    await vi.waitFor(async () => expect((await get(`${closed.test.url}/`)).status).toBe(200), {
      timeout: 5000,
      interval: 50,
    });
  });

  it('killing one hub leaves the agents serving through the others', async () => {
    const redis = await startRedisForTest();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const hubs: ClusterHub[] = [];
    for (let i = 0; i < 3; i++) hubs.push(await startClusterHub(redis.url));
    // One agent listing every hub, as `slime agent run --hub h1,h2,h3` runs it.
    await agentOn(hubs[0]!.test, upstream.url, { hub: hubs.map((h) => h.test.url), numWorker: 4 });
    await vi.waitFor(() => {
      for (const h of hubs) expect(h.test.hub.agents()).toHaveLength(1);
    });
    for (const h of hubs) expect((await get(`${h.test.url}/`)).status).toBe(200);
    hubs[0]!.test.hub.destroy();
    await expect(get(`${hubs[0]!.test.url}/`)).rejects.toThrow();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(`${hubs[1 + (i % 2)]!.test.url}/`).then((r) => r.status)),
    );
    expect(results).toEqual(Array(20).fill(200));
    for (const h of hubs.slice(1)) expect(h.test.hub.agents()).toHaveLength(1);
  });

  it('a revoked token is disconnected on every hub within a second and refused afterwards', async () => {
    const redis = await startRedisForTest();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const hubs: ClusterHub[] = [];
    for (let i = 0; i < 3; i++) hubs.push(await startClusterHub(redis.url));
    const revokedToken = await signAgentToken({ secret: SECRET, name: 'gpu-bad', jti: 'jti-bad' });
    const agents: TestAgent[] = [];
    for (const h of hubs) {
      agents.push(await agentOn(h.test, upstream.url, { token: revokedToken }));
      await agentOn(h.test, upstream.url, { name: 'gpu-good' });
    }
    const fatal = agents.map((a) => once(a.agent, 'fatal'));
    // `slime hub revoke` writes to Redis the same way, from its own connection.
    const cli = createRedisClient(redis.url, { commandTimeoutMs: 2000 });
    cleanups.push(() => cli.disconnect());
    await waitReady(cli, 5000);
    const t = performance.now();
    await createRedisRevocations({ redis: cli }).revoke({ kind: 'jti', value: 'jti-bad' });
    await vi.waitFor(
      () => {
        for (const h of hubs) expect(h.closes).toEqual([4005]);
      },
      { timeout: 1000, interval: 5 },
    );
    expect(performance.now() - t).toBeLessThan(1000);
    // the agents reconnect and are refused with 401 at the upgrade: they stop
    await Promise.all(fatal);
    for (const h of hubs) {
      expect(h.test.hub.agents().map((a) => a.name)).toEqual(['gpu-good']);
      expect((await get(`${h.test.url}/`)).status).toBe(200);
    }
  });
});
