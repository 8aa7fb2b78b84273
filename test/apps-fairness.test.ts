import type { PolicyDoc } from '@slime/hub';
import { request, Agent as UndiciAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { deferred, startAgent, startHub, startUpstream } from './helpers/harness.js';

const keyOf = (app: string) => `slime_app_test-key-${app}-0123456789abcdef`;
const app = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  keys: [{ hash: hashAppKey(keyOf(name)) }],
  ...extra,
});

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A hub with apps and one single-slot agent. The upstream records which app each request came
 * from (the client sends x-app; the key itself never reaches the upstream) and waits for `hold`
 * when the test holds the slot.
 */
async function oneSlotHub(policy: PolicyDoc, hubOptions: { maxQueue?: number } = {}) {
  const order: string[] = [];
  let hold: Promise<void> | undefined;
  const upstream = await startUpstream(async (req, res) => {
    order.push(String(req.headers['x-tag']));
    if (hold) await hold;
    res.end('ok');
  });
  const hub = await startHub({ policy, ...hubOptions });
  const agent = await startAgent(hub, upstream, { numWorker: 1 });
  const client = new UndiciAgent({ connections: 256 });
  cleanups.push(
    () => client.close(),
    () => upstream.close(),
    () => hub.hub.close(),
    () => agent.agent.close(),
  );
  const send = (name: string, tag: string, headers: Record<string, string> = {}) =>
    request(`${hub.url}/`, {
      dispatcher: client,
      headers: { 'slime-block': '1', 'slime-app-key': keyOf(name), 'x-tag': tag, ...headers },
    }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }));
  const queued = (name: string) => hub.hub.appStats().find((s) => s.app === name)?.queued ?? 0;
  return {
    hub,
    upstream,
    order,
    send,
    queued,
    holdSlot() {
      const d = deferred();
      hold = d.promise;
      return () => {
        hold = undefined;
        d.resolve();
      };
    },
  };
}

describe('fair queueing across applications', () => {
  it('two apps of weights 3:1 flooding one slot are served 3:1; a third app waits at most one round', async () => {
    const h = await oneSlotHub({ apps: [app('heavy', { weight: 3 }), app('light'), app('solo')] });
    const total = 240;
    let sent = 0;
    let soloAt = -1;
    let soloServedAt = -1;
    const flood = (name: string) =>
      (async () => {
        while (sent < total) {
          sent++;
          const r = await h.send(name, name);
          expect(r.status).toBe(200);
        }
      })();
    // 8 closed-loop clients per app keep both apps' queues full the whole time
    const clients = [
      ...Array.from({ length: 8 }, () => flood('heavy')),
      ...Array.from({ length: 8 }, () => flood('light')),
    ];
    await vi.waitFor(() => expect(h.upstream.count).toBeGreaterThan(60), { timeout: 20_000, interval: 2 });
    const solo = (async () => {
      const p = h.send('solo', 'solo');
      await vi.waitFor(() => expect(h.queued('solo')).toBe(1), { interval: 1 });
      soloAt = h.order.length;
      const r = await p;
      soloServedAt = h.order.indexOf('solo');
      return r.status;
    })();
    await Promise.all(clients);
    expect(await solo).toBe(200);
    // Both apps were backlogged from the 16th request on: count a window well inside the flood.
    const window = h.order.slice(20, 220).filter((t) => t !== 'solo');
    const heavy = window.filter((t) => t === 'heavy').length;
    const share = heavy / window.length;
    // Deficit round robin gives exactly 3 of every 4 while both wait; allow ±3 points for the edges.
    expect(share).toBeGreaterThanOrEqual(0.72);
    expect(share).toBeLessThanOrEqual(0.78);
    // One round is 3 + 1 requests; one more may already be on the agent when solo arrives.
    expect(soloServedAt - soloAt).toBeLessThanOrEqual(3 + 1 + 1);
    expect(h.upstream.maxInFlight).toBe(1);
  }, 60_000);

  it("an app's queue limit refuses that app only (503 ERR_HUB_QUEUE_FULL); others still queue", async () => {
    const h = await oneSlotHub({ apps: [app('capped', { maxQueue: 2 }), app('other')] });
    const release = h.holdSlot();
    const first = h.send('other', 'busy');
    await vi.waitFor(() => expect(h.upstream.inFlight).toBe(1));
    const waiting = [h.send('capped', 'c1'), h.send('capped', 'c2')];
    await vi.waitFor(() => expect(h.queued('capped')).toBe(2));
    const refused = await h.send('capped', 'c3');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'ERR_HUB_QUEUE_FULL' });
    expect(refused.headers['retry-after']).toBe('1');
    const others = [h.send('other', 'o1'), h.send('other', 'o2'), h.send('other', 'o3')];
    await vi.waitFor(() => expect(h.queued('other')).toBe(3));
    release();
    const results = await Promise.all([first, ...waiting, ...others]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(h.order).not.toContain('c3');
  });

  it('priorities order requests within an app; the ceiling caps what an app may ask', async () => {
    const h = await oneSlotHub({ apps: [app('vip', { maxPriority: 'high' }), app('plain')] });
    const release = h.holdSlot();
    const first = h.send('vip', 'busy');
    await vi.waitFor(() => expect(h.upstream.inFlight).toBe(1));
    const queue = async (name: string, tag: string, priority: string, n: number) => {
      const p = h.send(name, tag, { 'slime-priority': priority });
      await vi.waitFor(() => expect(h.queued(name)).toBe(n));
      // wrapped: an async function returning the promise itself would wait for the response
      return { p };
    };
    const all = [
      await queue('vip', 'vip-low', 'low', 1),
      await queue('vip', 'vip-normal-1', 'normal', 2),
      await queue('vip', 'vip-high', 'high', 3),
      await queue('vip', 'vip-normal-2', 'normal', 4),
    ];
    release();
    await Promise.all([first, ...all.map((q) => q.p)]);
    expect(h.order).toEqual(['busy', 'vip-high', 'vip-normal-1', 'vip-normal-2', 'vip-low']);

    // plain's ceiling is normal: its "high" waits behind its earlier normal one
    const release2 = h.holdSlot();
    h.order.length = 0;
    const busy = h.send('plain', 'busy');
    await vi.waitFor(() => expect(h.upstream.inFlight).toBe(1));
    const plain = [
      await queue('plain', 'plain-normal', 'normal', 1),
      await queue('plain', 'plain-high', 'high', 2),
    ];
    release2();
    await Promise.all([busy, ...plain.map((q) => q.p)]);
    expect(h.order).toEqual(['busy', 'plain-normal', 'plain-high']);
  });

  it('a full queue sheds its newest low-priority request (503 + Retry-After) for a normal one', async () => {
    const h = await oneSlotHub({ apps: [app('a'), app('b')] }, { maxQueue: 3 });
    const release = h.holdSlot();
    const first = h.send('a', 'busy');
    await vi.waitFor(() => expect(h.upstream.inFlight).toBe(1));
    const lows = [];
    for (let i = 1; i <= 3; i++) {
      lows.push(h.send('a', `low-${i}`, { 'slime-priority': 'low' }));
      await vi.waitFor(() => expect(h.hub.hub.queueLength).toBe(i));
    }
    // a low one finds no lower priority to shed: it is refused itself
    const refused = await h.send('b', 'low-b', { 'slime-priority': 'low' });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).code).toBe('ERR_HUB_QUEUE_FULL');
    const normal = h.send('b', 'normal-b');
    const shed = await lows[2]!;
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(JSON.parse(shed.body).code).toBe('ERR_HUB_OVERLOADED');
    release();
    const rest = await Promise.all([first, lows[0]!, lows[1]!, normal]);
    expect(rest.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(h.order).not.toContain('low-3');
  });
});
