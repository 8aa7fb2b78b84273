import type { PolicyDoc } from '@slime/hub';
import { request, Agent as UndiciAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const keyOf = (app: string) => `slime_app_shaping-test-${app}-0123456789abcdef`;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('fair queueing behind a shaped group', () => {
  it('requests waiting for a shaping slot take turns by app weight, not arrival (3:1)', async () => {
    const policy: PolicyDoc = {
      apps: [
        { name: 'heavy', weight: 3, keys: [{ hash: hashAppKey(keyOf('heavy')) }] },
        { name: 'light', keys: [{ hash: hashAppKey(keyOf('light')) }] },
      ],
      // the group, not the agent, is the bottleneck: requests wait in shaping's queue
      shaping: { groups: [{ limiter: { mode: 'fixed', limit: 1 } }] },
    };
    const order: string[] = [];
    const upstream = await startUpstream(async (req, res) => {
      order.push(String(req.headers['x-tag']));
      res.end('ok');
    });
    const hub = await startHub({ policy });
    const agent = await startAgent(hub, upstream, { numWorker: 16 });
    const client = new UndiciAgent({ connections: 64 });
    cleanups.push(
      () => client.close(),
      () => upstream.close(),
      () => hub.hub.close(),
      () => agent.agent.close(),
    );
    let sent = 0;
    const flood = async (name: string) => {
      while (sent < 200) {
        sent++;
        const r = await request(`${hub.url}/`, {
          dispatcher: client,
          headers: { 'slime-block': '1', 'slime-app-key': keyOf(name), 'x-tag': name },
        });
        await r.body.dump();
        expect(r.statusCode).toBe(200);
      }
    };
    await Promise.all([
      ...Array.from({ length: 8 }, () => flood('heavy')),
      ...Array.from({ length: 8 }, () => flood('light')),
    ]);
    await vi.waitFor(() => expect(order.length).toBe(200));
    const window = order.slice(20, 180);
    const share = window.filter((t) => t === 'heavy').length / window.length;
    // FIFO would give about half; deficit round robin gives 3 of every 4 (±3 points at the edges)
    expect(share).toBeGreaterThanOrEqual(0.72);
    expect(share).toBeLessThanOrEqual(0.78);
    expect(upstream.maxInFlight).toBe(1);
  }, 60_000);

  it("an app's maxQueue bounds its requests waiting for a shaping slot; other apps still wait", async () => {
    const policy: PolicyDoc = {
      apps: [
        { name: 'capped', maxQueue: 1, keys: [{ hash: hashAppKey(keyOf('capped')) }] },
        { name: 'other', keys: [{ hash: hashAppKey(keyOf('other')) }] },
      ],
      shaping: { groups: [{ limiter: { mode: 'fixed', limit: 1 } }] },
    };
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const upstream = await startUpstream(async (req, res) => {
      if (req.headers['x-tag'] === 'hold') await held;
      res.end('ok');
    });
    const hub = await startHub({ policy });
    const agent = await startAgent(hub, upstream, { numWorker: 8 });
    cleanups.push(
      () => upstream.close(),
      () => hub.hub.close(),
      () => agent.agent.close(),
    );
    const send = (name: string, tag: string) =>
      request(`${hub.url}/`, {
        headers: { 'slime-block': '1', 'slime-app-key': keyOf(name), 'x-tag': tag },
      }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    const busy = send('other', 'hold');
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    // the group's one slot is taken: the next ones wait in shaping, not in the dispatcher
    const refusals = () => hub.hub.shaping()[0]!.rejections;
    const waiting = send('capped', 'c1');
    // a request refused its first try at the group's limit waits from that moment on
    await vi.waitFor(() => expect(refusals()).toBe(1));
    const others = [send('other', 'o1'), send('other', 'o2')];
    await vi.waitFor(() => expect(refusals()).toBe(3));
    const r = await send('capped', 'c2');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('ERR_HUB_QUEUE_FULL');
    expect(JSON.parse(r.body).detail).toMatch(/application "capped"/);
    expect(hub.hub.queueLength).toBe(0);
    release();
    const results = await Promise.all([busy, waiting, ...others]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });
});
