import { once } from 'node:events';
import { signAgentToken } from '@slime/hub';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { deferred, readAll, SECRET, startHub, startUpstream } from '../../../test/helpers/harness.js';
import { createAgent } from '../src/index.js';

const BLOCK = { 'slime-block': '1' };

describe('an agent on two hubs with one slot', () => {
  it('hands a request back to the second hub while the first holds the slot, then serves it', async () => {
    const gate = deferred();
    await using up = await startUpstream(async (req, res) => {
      const body = await readAll(req);
      if (req.url === '/hold') await gate.promise;
      res.end(`${req.url} ${body.toString()}`);
    });
    await using hA = await startHub();
    await using hB = await startHub();
    const token = await signAgentToken({ secret: SECRET, name: 'one-slot' });
    await using agent = createAgent({ token, hub: [hA.url, hB.url], upstream: up.url, numWorker: 1 });
    agent.start();
    await agent.ready();
    // idle: the one slot is offered to both hubs
    for (const h of [hA, hB]) await vi.waitFor(() => expect(h.hub.agents()[0]?.credits).toBe(1));
    expect(agent.connectedHubs).toBe(2);

    const first = request(`${hA.url}/hold`, { method: 'POST', body: 'a', headers: BLOCK });
    await vi.waitFor(() => expect(up.inFlight).toBe(1));
    const refused = once(agent, 'refused');
    const second = request(`${hB.url}/next`, { method: 'POST', body: 'b', headers: BLOCK });
    const [hub] = (await refused) as [string];
    expect(hub).toContain(`:${hB.port}`);
    // hub B waits with the request: its credit is spent and it is paused until the agent grants again
    await vi.waitFor(() => expect(hB.hub.queueLength).toBe(1));
    expect(hB.hub.agents()[0]).toMatchObject({ credits: 0, inFlight: 0 });
    expect(up.count).toBe(1);

    gate.resolve();
    expect(await (await first).body.text()).toBe('/hold a');
    const res = await second;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('/next b');
    expect(up.maxInFlight).toBe(1);
    expect(up.count).toBe(2);
    // idle again: both hubs hold the slot's offer
    for (const h of [hA, hB]) await vi.waitFor(() => expect(h.hub.agents()[0]?.credits).toBe(1));
    expect(agent.activeRequests).toBe(0);
  });

  it('validates the hub list', () => {
    const base = { token: 't', upstream: '127.0.0.1:1' };
    expect(() => createAgent({ ...base, hub: [] })).toThrow('hub must list at least one URL');
    expect(() => createAgent({ ...base, hub: ['http://h:1', 'ws://h:1/_slime/agent'] })).toThrow('twice');
    expect(() => createAgent({ ...base, hub: ['http://h:1', 'ftp://h:2'] })).toThrow(TypeError);
  });
});
