import { createHash } from 'node:crypto';
import { ResetCode } from '@slime/protocol';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startHub } from '../../../../test/helpers/harness.js';
import { rawAgent as rawAgentOf } from '../../../../test/helpers/raw-agent.js';

const WINDOW = 64 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const rawAgent = (url: string) => rawAgentOf(url, { slots: 2, streamWindow: WINDOW });

describe('RESET REFUSED on the hub', () => {
  it('keeps the credit spent, pauses the agent until its next CREDIT, and re-sends the whole body', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url);
    agent.send({ type: 'CREDIT', streamId: 0, count: 2 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(2));
    const body = Buffer.alloc(3 * WINDOW + 123, 7);
    for (let i = 0; i < body.length; i++) body[i] = (i * 13) & 0xff;
    const response = request(`${hub.url}/upload`, { method: 'POST', body });

    const first = await agent.next('REQUEST');
    // the hub sends up to our window before we refuse: those bytes must not be lost
    const partial = await agent.readBody(first.streamId, { grant: false, until: WINDOW });
    expect(partial.length).toBe(WINDOW);
    agent.send({ type: 'RESET', streamId: first.streamId, code: ResetCode.REFUSED, message: 'no free slot' });

    // one credit left, yet the request waits in the queue: the agent is paused
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    expect(hub.hub.agents()[0]).toMatchObject({ credits: 1, inFlight: 0 });

    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    const second = await agent.next('REQUEST');
    expect(second.streamId).toBeGreaterThan(first.streamId);
    expect(second.method).toBe('POST');
    const whole = await agent.readBody(second.streamId, { grant: true });
    expect(whole.length).toBe(body.length);
    expect(sha(whole)).toBe(sha(body));
    agent.send({ type: 'RESPONSE', streamId: second.streamId, endStream: true, status: 201, headers: [] });
    const res = await response;
    expect(res.statusCode).toBe(201);
    await res.body.dump();
    // 2 + 1 granted, 2 REQUESTs sent, 1 returned by the END: the refused one stays spent
    await vi.waitFor(() => expect(hub.hub.agents()[0]).toMatchObject({ credits: 2, inFlight: 0 }));
    agent.ws.close();
  });

  it('a request refused more often than the re-dispatch limit is still served, not a 502', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url);
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const response = request(`${hub.url}/busy`);
    for (let i = 0; i < 8; i++) {
      const req = await agent.next('REQUEST');
      expect(req.endStream).toBe(true);
      agent.send({ type: 'RESET', streamId: req.streamId, code: ResetCode.REFUSED, message: 'busy' });
      agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    }
    const served = await agent.next('REQUEST');
    agent.send({ type: 'RESPONSE', streamId: served.streamId, endStream: false, status: 200, headers: [] });
    agent.send({ type: 'DATA', streamId: served.streamId, data: Buffer.from('at last') });
    agent.send({ type: 'END', streamId: served.streamId });
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('at last');
    agent.ws.close();
  });

  it('a refusal after the agent took the body (it sent WINDOW) is a 502, never a second delivery', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url);
    agent.send({ type: 'CREDIT', streamId: 0, count: 2 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(2));
    const response = request(`${hub.url}/upload`, { method: 'POST', body: Buffer.alloc(2 * WINDOW, 1) });
    const req = await agent.next('REQUEST');
    await agent.readBody(req.streamId, { grant: true, until: WINDOW });
    agent.send({
      type: 'RESET',
      streamId: req.streamId,
      code: ResetCode.REFUSED,
      message: 'changed my mind',
    });
    const res = await response;
    expect(res.statusCode).toBe(502);
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_AGENT_LOST');
    agent.ws.close();
  });
});
