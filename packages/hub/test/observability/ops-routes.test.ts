import { describe, expect, it } from 'vitest';
import { startAgent, startUpstream } from '../../../../test/helpers/harness.js';
import { createAdminServer } from '../../src/admin/index.js';
import { createOpsRoutes, type HubStatus, STATUS_PAGE_CSP } from '../../src/observability/index.js';
import { createPolicyEngine } from '../../src/policy/index.js';
import { createShaper } from '../../src/shaping/index.js';
import { parseExposition, sampleValue } from './exposition.js';
import { startObservedHub } from './observed-hub.js';
import { firstStatusEvent, startOpsServer, statusEvents } from './ops-server.js';

const ok = () => startUpstream((_req, res) => void res.writeHead(200).end('ok'));

describe('ops routes', () => {
  it('healthz is 200 while the process is up', async () => {
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub });
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('readyz flips with agent presence when requireAgent is set', async () => {
    await using up = await ok();
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub, requireAgent: true });
    await using lax = await startOpsServer({ hub: h.hub });
    const none = await fetch(`${s.url}/readyz`);
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ status: 'not-ready', reason: 'no agent connected' });
    expect((await fetch(`${lax.url}/readyz`)).status).toBe(200);

    const a = await startAgent(h, up);
    await expect.poll(async () => (await fetch(`${s.url}/readyz`)).status).toBe(200);
    await a.agent.close();
    await expect.poll(async () => (await fetch(`${s.url}/readyz`)).status).toBe(503);
  });

  it('readyz is 503 when the hub is not listening', async () => {
    await using h = await startObservedHub();
    let listening = true;
    await using s = await startOpsServer({ hub: h.hub, isListening: () => listening });
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    listening = false;
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ reason: 'hub is not listening' });
  });

  it('/status lists connected agents, queue, active requests and the policy summary', async () => {
    await using up = await ok();
    await using h = await startObservedHub();
    await using s = await startOpsServer({
      hub: h.hub,
      metrics: h.metrics,
      policy: () => ({ rateLimits: 2 }),
    });
    await using a = await startAgent(h, up, {
      name: 'edge-1',
      scopes: ['gpu'],
      numWorker: 4,
      reportHardware: true,
    });
    await fetch(`${h.url}/`).then((r) => r.arrayBuffer());
    await expect
      .poll(async () => ((await (await fetch(`${s.url}/status`)).json()) as HubStatus).requests.total)
      .toBe(1);
    const body = (await (await fetch(`${s.url}/status`)).json()) as HubStatus;
    expect(body.agents).toHaveLength(1);
    const agent = body.agents[0]!;
    expect(agent).toMatchObject({
      name: 'edge-1',
      id: a.agent.hubAgentId,
      scopes: ['gpu'],
      slots: 4,
      inFlight: 0,
      state: 'ready',
      remoteAddress: '127.0.0.1',
    });
    expect(Date.parse(agent.since)).not.toBeNaN();
    expect(agent.hardware).toEqual(expect.any(Object));
    expect(body).toMatchObject({ queueLength: 0, activeRequests: 0, totals: { agents: 1, slots: 4 } });
    expect(body.policy).toEqual({ rateLimits: 2 });
    // A token id is a revocation handle: it stays off dashboards.
    expect(JSON.stringify(body)).not.toContain('jti');
    expect(JSON.stringify(body)).not.toContain(a.token);
  });

  it('/status lists the shaped groups when shaping is on, and omits them otherwise', async () => {
    await using h = await startObservedHub();
    const shaper = createShaper(
      {
        groups: [
          {
            match: { scope: 'gpu' },
            per: 'group',
            retryAfterSeconds: 1,
            limiter: { mode: 'fixed', limit: 2 },
          },
        ],
      },
      { now: () => 0, random: () => 0.5 },
    );
    const held = shaper.admit({ scope: 'gpu' });
    expect(held.ok).toBe(true);
    await using s = await startOpsServer({ hub: h.hub, shaping: () => shaper.stats() });
    const body = (await (await fetch(`${s.url}/status`)).json()) as HubStatus;
    expect(body.shaping).toEqual([
      expect.objectContaining({
        group: 'gpu',
        mode: 'fixed',
        limit: 2,
        inFlight: 1,
        paced: false,
        rejections: 0,
      }),
    ]);
    await using plain = await startOpsServer({ hub: h.hub, shaping: () => [] });
    expect(((await (await fetch(`${plain.url}/status`)).json()) as HubStatus).shaping).toBeUndefined();
    const html = await (await fetch(`${s.url}/`)).text();
    expect(html).toContain('<table id="shaping" hidden>');
  });

  it('/status/events streams status events and stops its timer when the client leaves', async () => {
    await using up = await ok();
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub, eventIntervalMs: 50 });
    await using _a = await startAgent(h, up, { name: 'streamed' });
    const res = await fetch(`${s.url}/status/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await statusEvents(res, 3);
    expect(events.map((e) => e.event)).toEqual(['status', 'status', 'status']);
    const times = events.map((e) => Date.parse((e.data as HubStatus).time));
    // two 50 ms intervals apart, not a burst; a millisecond of slack for the timer/Date rounding
    // (a CI run measured 99)
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(98);
    expect((events[0]!.data as HubStatus).agents.map((x) => x.name)).toEqual(['streamed']);
    // The reader was cancelled: the server must see the close and hold no connection open.
    await expect.poll(() => new Promise((r) => s.server.getConnections((_e, n) => r(n)))).toBe(0);
  });

  it('/metrics serves the exposition text', async () => {
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub, metrics: h.metrics });
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sampleValue(parseExposition(await res.text()), 'slime_queue_length')).toBe(0);
    await using bare = await startOpsServer({ hub: h.hub });
    expect((await fetch(`${bare.url}/metrics`)).status).toBe(404);
  });

  it('serves the status page with a strict CSP, and answers only GET and HEAD', async () => {
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub });
    const page = await fetch(`${s.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(STATUS_PAGE_CSP);
    const html = await page.text();
    expect(html).toContain('<table id="agents">');
    expect(html).not.toMatch(/<(?:script|link|img)[^>]+(?:src|href)=/);
    const post = await fetch(`${s.url}/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${s.url}/other`)).status).toBe(404);
  });

  it('checks a bearer token on data routes when given one; page and probes stay public', async () => {
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub, metrics: h.metrics, token: 'admin-t' });
    for (const path of ['/status', '/status/events', '/metrics']) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${s.url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
    }
    const good = await fetch(`${s.url}/status`, { headers: { authorization: 'Bearer admin-t' } });
    expect(good.status).toBe(200);
    for (const path of ['/', '/healthz', '/readyz'])
      expect((await fetch(`${s.url}${path}`)).status, path).toBe(200);
  });

  it('mounts on the admin server, which checks the token', async () => {
    await using up = await ok();
    await using h = await startObservedHub();
    const ops = createOpsRoutes({ hub: h.hub, metrics: h.metrics });
    const engine = createPolicyEngine();
    await using admin = createAdminServer({ token: 'adm', engine, port: 0, routes: ops.adminRoutes() });
    const { port } = await admin.listen();
    const base = `http://127.0.0.1:${port}`;
    await using _a = await startAgent(h, up, { name: 'mounted' });
    const ev = await fetch(`${base}/status/events`, { headers: { authorization: 'Bearer adm' } });
    expect((await firstStatusEvent(ev)).event).toBe('status');
    const status = (path: string, init?: RequestInit) =>
      fetch(`${base}${path}`, init).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    expect(await status('/status')).toBe(401);
    expect(await status('/metrics')).toBe(401);
    const st = await fetch(`${base}/status`, { headers: { authorization: 'Bearer adm' } });
    expect(((await st.json()) as HubStatus).agents[0]?.name).toBe('mounted');
    expect(await status('/healthz')).toBe(200);
    expect(await status('/')).toBe(200);
    ops.close();
    await engine.close();
  });

  it('validates its options', () => {
    expect(() => createOpsRoutes({} as never)).toThrow(/hub/);
    const hub = { agents: () => [], queueLength: 0, activeRequests: 0 };
    expect(() => createOpsRoutes({ hub, eventIntervalMs: 1 })).toThrow(RangeError);
    expect(() => createOpsRoutes({ hub, token: '' })).toThrow(/token/);
  });
});
