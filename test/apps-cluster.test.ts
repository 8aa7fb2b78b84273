import type { PolicyDoc } from '@slime/hub';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { startAgent, startHub, startUpstream, type TestHub } from './helpers/harness.js';
import { startRedis } from './helpers/redis.js';

const ADMIN_TOKEN = 'admin-token-for-app-tests';
const keyOf = (app: string) => `slime_app_cluster-test-${app}-0123456789abcdef`;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One hub as `slime hub run --redis --admin-token` wires it: shared counters and policy, /apps routes. */
async function clusterHub(redisUrl: string, upstreamUrl: string, policy?: PolicyDoc) {
  const hub: TestHub = await startHub({
    ...(policy ? { policy } : {}),
    cluster: { redis: redisUrl, timeoutMs: 2000, failMode: 'fail-closed', connectWaitMs: 5000 },
    admin: { token: ADMIN_TOKEN, port: 0 },
  });
  const agent = await startAgent(hub, upstreamUrl, { numWorker: 8 });
  cleanups.push(async () => {
    await agent.agent.close();
    hub.hub.destroy();
    await hub.hub.close();
  });
  return { hub, adminUrl: `http://127.0.0.1:${hub.hub.adminAddress!.port}` };
}

async function call(url: string, key: string) {
  const res = await request(url, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

async function admin(url: string, method: string, body?: unknown) {
  const res = await request(url, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('applications across hubs on one Redis', () => {
  it('a per-app quota is shared by two hubs, with RateLimit headers; another app keeps its own', async () => {
    await using redis = await startRedis();
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    const policy: PolicyDoc = {
      apps: [
        {
          name: 'metered',
          keys: [{ hash: hashAppKey(keyOf('metered')) }],
          quotas: { requests: { minute: 5 } },
        },
        { name: 'free', keys: [{ hash: hashAppKey(keyOf('free')) }] },
      ],
    };
    const h1 = await clusterHub(redis.url, upstream.url, policy);
    const h2 = await clusterHub(redis.url, upstream.url);
    // hub 2 started without a policy: it takes the one hub 1 stored in Redis
    await vi.waitFor(() =>
      expect(h2.hub.hub.engine.current().apps?.map((a) => a.name)).toEqual(['metered', 'free']),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(`${h1.hub.url}/q`, keyOf('metered'))).status);
    const onTwo = await call(`${h2.hub.url}/q`, keyOf('metered'));
    statuses.push(onTwo.status);
    expect(onTwo.headers['ratelimit-policy']).toBe('"app:metered:requests:minute";q=5;w=60');
    expect(onTwo.headers.ratelimit).toMatch(/^"app:metered:requests:minute";r=1;t=\d+$/);
    statuses.push((await call(`${h2.hub.url}/q`, keyOf('metered'))).status);
    const over = await call(`${h1.hub.url}/q`, keyOf('metered'));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body).code).toBe('ERR_HUB_RATE_LIMITED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers.ratelimit).toMatch(/r=0/);
    expect((await call(`${h2.hub.url}/q`, keyOf('metered'))).status).toBe(429);
    for (const h of [h1, h2]) expect((await call(`${h.hub.url}/q`, keyOf('free'))).status).toBe(200);
  });

  it('an app added through one hub admin API works on both; removing it refuses its key on both', async () => {
    await using redis = await startRedis();
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    const h1 = await clusterHub(redis.url, upstream.url);
    const h2 = await clusterHub(redis.url, upstream.url);
    const added = await admin(`${h1.adminUrl}/apps`, 'POST', { name: 'chat', weight: 2 });
    expect(added.status).toBe(201);
    const key = String(added.json.key);
    expect(key).toMatch(/^slime_app_/);
    await vi.waitFor(async () => expect((await call(`${h2.hub.url}/x`, key)).status).toBe(200));
    expect((await call(`${h1.hub.url}/x`, key)).status).toBe(200);
    // the list shows settings and key ids, never the key or its hash
    const listed = await admin(`${h2.adminUrl}/apps`, 'GET');
    expect(JSON.stringify(listed.json)).not.toContain(key);
    expect(JSON.stringify(listed.json)).not.toContain(hashAppKey(key));
    expect(listed.json.apps).toMatchObject([{ name: 'chat', weight: 2, keys: [{ expired: false }] }]);

    const rotated = await admin(`${h2.adminUrl}/apps/rotate?name=chat&overlap=0`, 'POST');
    expect(rotated.status).toBe(200);
    const second = String(rotated.json.key);
    // overlap 0: the old key is revoked on every hub
    await vi.waitFor(async () => expect((await call(`${h1.hub.url}/x`, key)).status).toBe(401));
    expect((await call(`${h1.hub.url}/x`, second)).status).toBe(200);

    const removed = await admin(`${h1.adminUrl}/apps?name=chat`, 'DELETE');
    expect(removed.status).toBe(200);
    await vi.waitFor(async () => expect((await call(`${h2.hub.url}/x`, second)).status).toBe(401));
    const refused = await call(`${h1.hub.url}/x`, second);
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await admin(`${h1.adminUrl}/apps?name=chat`, 'DELETE')).status).toBe(404);
  });

  it('the admin API refuses a bad application with a problem naming the field', async () => {
    await using redis = await startRedis();
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    const h1 = await clusterHub(redis.url, upstream.url);
    const bad = await admin(`${h1.adminUrl}/apps`, 'POST', { name: 'x y', weight: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('ERR_HUB_INVALID_POLICY');
    expect(bad.json.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^apps\[0\]\.name /),
        expect.stringMatching(/^apps\[0\]\.weight /),
      ]),
    );
    const smuggled = await admin(`${h1.adminUrl}/apps`, 'POST', {
      name: 'y',
      keys: [{ hash: hashAppKey('chosen') }],
    });
    expect(smuggled.status).toBe(400);
    expect(smuggled.json.code).toBe('ERR_HUB_BAD_REQUEST');
  });
});
