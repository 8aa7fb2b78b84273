import {
  createPolicyEngine,
  createShapingSection,
  hashAppKey,
  type PolicyDoc,
  type PolicyEngine,
} from '@slime/hub';
import { request, Agent as UndiciAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
    let engine: PolicyEngine | undefined;
    engine = createPolicyEngine({
      policy,
      sections: {
        shaping: createShapingSection({
          now: Date.now,
          random: Math.random,
          appShare: (app) => engine!.apps().settings(app),
        }),
      },
    });
    const order: string[] = [];
    const upstream = await startUpstream(async (req, res) => {
      order.push(String(req.headers['x-tag']));
      res.end('ok');
    });
    const hub = await startHub({}, { policies: engine.slots(), apps: engine.apps });
    const agent = await startAgent(hub, upstream, { numWorker: 16 });
    const client = new UndiciAgent({ connections: 64 });
    cleanups.push(
      () => client.close(),
      () => upstream.close(),
      () => hub.hub.close(),
      () => agent.agent.close(),
      () => engine!.close(),
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
});
