import { createHash } from 'node:crypto';
import { type Agent, createAgent } from '@slime/agent';
import { signAgentToken } from '@slime/hub';
import { request, Agent as UndiciAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  killAll,
  register,
  startAgent as startCliAgent,
  startHub as startCliHub,
} from '../packages/cli/test/spawn-cli.js';
import {
  readAll,
  SECRET,
  startHub,
  startUpstream,
  type TestHub,
  type TestUpstream,
} from './helpers/harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Deterministic request bodies; every tenth is larger than the agent's window (256 KiB). */
function bodyFor(id: number): Buffer {
  const size = id % 10 === 0 ? 300 * 1024 + id : 64 + id;
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + id) & 0xff;
  return out;
}

/** An upstream that answers `id method length sha256(body)` and counts each id it sees. */
async function countingUpstream(seen: Map<string, number>): Promise<TestUpstream> {
  return startUpstream(async (req, res) => {
    const id = String(req.headers['x-id']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const body = await readAll(req);
    // hold the slot a little, so requests from the three hubs overlap at the agent
    await new Promise((r) => setImmediate(r));
    res.end(`${id} ${req.method} ${body.length} ${sha(body)}`);
  });
}

function expected(id: number, post: boolean): string {
  const body = post ? bodyFor(id) : Buffer.alloc(0);
  return `${id} ${post ? 'POST' : 'GET'} ${body.length} ${sha(body)}`;
}

interface Outcome {
  id: number;
  block: boolean;
  status: number;
  text: string;
  expected: string;
}

async function send(client: UndiciAgent, hub: TestHub, id: number, block: boolean): Promise<Outcome> {
  const post = id % 2 === 1;
  const res = await request(`${hub.url}/work/${id}`, {
    method: post ? 'POST' : 'GET',
    headers: { 'x-id': String(id), ...(block ? { 'slime-block': '1' } : {}) },
    ...(post ? { body: bodyFor(id) } : {}),
    dispatcher: client,
  });
  return { id, block, status: res.statusCode, text: await res.body.text(), expected: expected(id, post) };
}

async function multiHubAgent(hubs: TestHub[], upstream: TestUpstream, numWorker: number): Promise<Agent> {
  const token = await signAgentToken({ secret: SECRET, name: 'shared' });
  const agent = createAgent({
    token,
    hub: hubs.map((h) => h.url),
    upstream: upstream.url,
    numWorker,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
  });
  agent.start();
  await agent.ready();
  await vi.waitFor(() => expect(agent.connectedHubs).toBe(hubs.length));
  for (const h of hubs) await vi.waitFor(() => expect(h.hub.agents()).toHaveLength(1));
  return agent;
}

describe('one agent on several hubs', () => {
  it('never runs more than numWorker requests at its upstream under load from three hubs, and loses none', async () => {
    const seen = new Map<string, number>();
    await using upstream = await countingUpstream(seen);
    await using h1 = await startHub();
    await using h2 = await startHub();
    await using h3 = await startHub();
    const hubs = [h1, h2, h3];
    const agent = await multiHubAgent(hubs, upstream, 2);
    let refused = 0;
    agent.on('refused', () => refused++);
    const client = new UndiciAgent({ connections: 400 });
    try {
      // three in four block (Slime-Block); the others may get a fast 503 when no slot is free
      const outcomes = await Promise.all(
        Array.from({ length: 300 }, (_, id) => send(client, hubs[id % 3]!, id, id % 4 !== 3)),
      );
      expect(upstream.maxInFlight).toBe(2);
      for (const o of outcomes) {
        if (o.block || o.status === 200) {
          expect({ id: o.id, status: o.status, text: o.text }).toEqual({
            id: o.id,
            status: 200,
            text: o.expected,
          });
        } else {
          expect(o.status).toBe(503);
        }
      }
      const served = outcomes.filter((o) => o.status === 200).map((o) => String(o.id));
      expect(served.length).toBeGreaterThanOrEqual(225);
      // the upstream saw each served request exactly once, and nothing else
      expect([...seen.keys()].sort()).toEqual(served.sort());
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      // the hubs competed for the same two slots: some requests were handed back and re-dispatched
      expect(refused).toBeGreaterThan(0);
      await vi.waitFor(() => expect(agent.activeRequests).toBe(0));
      for (const h of hubs) expect(h.hub.activeRequests).toBe(0);
    } finally {
      await client.close();
      await agent.close();
    }
  });

  it('keeps serving through the other hubs when one dies mid-load', async () => {
    const seen = new Map<string, number>();
    await using upstream = await countingUpstream(seen);
    await using h1 = await startHub();
    await using h2 = await startHub();
    const h3 = await startHub();
    const agent = await multiHubAgent([h1, h2, h3], upstream, 2);
    const client = new UndiciAgent({ connections: 400 });
    try {
      const survivors: Array<Promise<Outcome>> = [];
      const doomed: Array<Promise<unknown>> = [];
      for (let id = 0; id < 240; id++) {
        const hub = [h1, h2, h3][id % 3]!;
        if (hub === h3) doomed.push(send(client, hub, id, true).catch((err: Error) => err));
        else survivors.push(send(client, hub, id, true));
      }
      // kill the third hub once the load is flowing
      await vi.waitFor(() => expect(upstream.count).toBeGreaterThanOrEqual(30), { interval: 1 });
      h3.hub.destroy();
      const disconnected = new Promise<void>((resolve) =>
        agent.on('disconnected', (_c: number, _r: string, hub: string) => {
          if (hub.includes(`:${h3.port}`)) resolve();
        }),
      );
      const results = await Promise.all(survivors);
      for (const o of results)
        expect({ id: o.id, status: o.status, text: o.text }).toEqual({
          id: o.id,
          status: 200,
          text: o.expected,
        });
      await Promise.all(doomed);
      await disconnected;
      expect(agent.connectedHubs).toBe(2);
      // a second wave while the agent keeps failing to reach the dead hub
      const failedDials = new Promise<void>((resolve) => {
        let n = 0;
        agent.on('disconnected', () => {
          if (++n === 2) resolve();
        });
      });
      const wave = await Promise.all(
        Array.from({ length: 60 }, (_, i) => send(client, i % 2 ? h1 : h2, 1000 + i, true)),
      );
      await failedDials;
      for (const o of wave) expect(o.status === 200 && o.text === o.expected).toBe(true);
      expect(upstream.maxInFlight).toBeLessThanOrEqual(2);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(agent.connected).toBe(true);
      await vi.waitFor(() => expect(agent.activeRequests).toBe(0));
    } finally {
      await client.close();
      await agent.close();
    }
  });

  describe('slime agent run --hub h1,h2 (built CLI)', () => {
    afterEach(() => killAll());

    it('one agent process shares --numWorker 1 between two hubs', async () => {
      const seen = new Map<string, number>();
      await using upstream = await countingUpstream(seen);
      const token = await register(['--secret', 's3cret', '--name', 'shared']);
      const h1 = await startCliHub(['--secret', 's3cret']);
      const h2 = await startCliHub(['--secret', 's3cret']);
      const agent = await startCliAgent(
        ['--token', token, '--hub', `${h1.url},${h2.url}`, '--upstream', upstream.url, '--numWorker', '1'],
        {},
        2,
      );
      const client = new UndiciAgent({ connections: 100 });
      try {
        const hubs = [h1, h2].map((h) => ({ url: h.url }) as TestHub);
        const outcomes = await Promise.all(
          Array.from({ length: 60 }, (_, id) => send(client, hubs[id % 2]!, id, true)),
        );
        for (const o of outcomes) expect(o.status === 200 && o.text === o.expected).toBe(true);
        expect(upstream.maxInFlight).toBe(1);
        expect(seen.size).toBe(60);
        // one agent for the one upstream, holding a connection to each hub
        expect(agent.stdout()).toContain('"upstreams":1,"hubs":2');
      } finally {
        await client.close();
      }
    });
  });
});
