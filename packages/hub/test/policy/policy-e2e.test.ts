import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { deferred, startAgent, startHub, startUpstream } from '../../../../test/helpers/harness.js';
import { createAdminServer } from '../../src/admin/index.js';
import type { PolicyDoc } from '../../src/policy/index.js';

async function setup(policy: PolicyDoc, handler?: Parameters<typeof startUpstream>[0]) {
  const upstream = await startUpstream(handler ?? ((_req, res) => void res.end('ok')));
  const hub = await startHub({ policy });
  const { engine } = hub.hub;
  const agent = await startAgent(hub, upstream, { numWorker: 4 });
  return {
    upstream,
    engine,
    hub,
    async [Symbol.asyncDispose]() {
      await agent.agent.close();
      await hub.hub.close();
      await upstream.close();
    },
  };
}

describe('policies through a real hub and agent', () => {
  it('rate limit: RateLimit on admitted responses, 429 problem+json with Retry-After, upstream never sees it', async () => {
    await using s = await setup({ ratelimits: [{ name: 'node', limit: 2, algorithm: 'fixed-window' }] });
    for (let i = 0; i < 2; i++) {
      const ok = await request(`${s.hub.url}/x`);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers.ratelimit).toMatch(new RegExp(`^"node";r=${1 - i};t=\\d+$`));
      expect(await ok.body.text()).toBe('ok');
    }
    const denied = await request(`${s.hub.url}/x`);
    expect(denied.statusCode).toBe(429);
    expect(denied.headers['content-type']).toBe('application/problem+json');
    expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(denied.headers['ratelimit-policy']).toBe('"node";q=2;w=60');
    expect(((await denied.body.json()) as { code: string }).code).toBe('ERR_HUB_RATE_LIMITED');
    expect(s.upstream.count).toBe(2);
  });

  it('access: 403 without echoing the rule; a client-sent X-Forwarded-For from an untrusted peer changes nothing', async () => {
    await using s = await setup({
      access: [
        { name: 'no-loopback-admin', action: 'deny', match: { ip: '127.0.0.1', pathPrefix: '/admin' } },
      ],
    });
    const r = await request(`${s.hub.url}/admin/x`, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(r.statusCode).toBe(403);
    const text = await r.body.text();
    expect(text).not.toMatch(/no-loopback-admin|127\.0\.0\.1/);
    expect((await request(`${s.hub.url}/public`)).statusCode).toBe(200);
    expect(s.upstream.count).toBe(1);
  });

  it('X-Forwarded-For from a trusted proxy is honoured', async () => {
    await using s = await setup({
      trustedProxies: ['127.0.0.1'],
      access: [{ action: 'deny', match: { ip: '203.0.113.0/24' } }],
    });
    const r1 = await request(`${s.hub.url}/`, { headers: { 'x-forwarded-for': '203.0.113.5' } });
    expect(r1.statusCode).toBe(403);
    await r1.body.dump();
    const r2 = await request(`${s.hub.url}/`, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(r2.statusCode).toBe(200);
    await r2.body.dump();
  });

  it('concurrency: 503 while the slot is held, free again once the response has been written', async () => {
    const hold = deferred();
    let calls = 0;
    await using s = await setup({ ratelimits: [{ name: 'one', concurrency: 1 }] }, async (_req, res) => {
      if (++calls === 1) await hold.promise;
      res.end('done');
    });
    const first = request(`${s.hub.url}/slow`);
    await expect.poll(() => s.upstream.inFlight).toBe(1);
    const second = await request(`${s.hub.url}/fast`);
    expect(second.statusCode).toBe(503);
    expect(((await second.body.json()) as { code: string }).code).toBe('ERR_HUB_OVERLOADED');
    hold.resolve();
    expect(await (await first).body.text()).toBe('done');
    await expect
      .poll(async () => {
        const r = await request(`${s.hub.url}/again`);
        await r.body.dump();
        return r.statusCode;
      })
      .toBe(200);
  });

  it('a policy PUT through the admin API applies to live traffic at once', async () => {
    await using s = await setup({});
    const admin = createAdminServer({ token: 't0k', engine: s.engine, host: '127.0.0.1', port: 0 });
    const { port } = await admin.listen();
    try {
      expect((await request(`${s.hub.url}/x`)).statusCode).toBe(200);
      const put = await request(`http://127.0.0.1:${port}/policy`, {
        method: 'PUT',
        headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' },
        body: JSON.stringify({ access: [{ action: 'deny', match: { path: '/x' } }] }),
      });
      expect(put.statusCode).toBe(200);
      await put.body.dump();
      const r = await request(`${s.hub.url}/x`);
      expect(r.statusCode).toBe(403);
      await r.body.dump();
    } finally {
      await admin.close();
    }
  });
});
