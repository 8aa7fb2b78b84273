import { createHub, type PolicyDoc } from '@slime/hub';
import { ResetCode } from '@slime/protocol';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { SECRET, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

async function silentAgent(hubUrl: string) {
  const agent = await rawAgent(hubUrl);
  agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
  return agent;
}

describe('the request deadline (--request-timeout)', () => {
  it('an agent that takes a request and never answers gets it cancelled; the client gets 504', async () => {
    await using hub = await startHub({ requestTimeoutMs: 150 });
    const quiet = await silentAgent(hub.url);
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const started = Date.now();
    const pending = request(`${hub.url}/slow`);
    const req = await quiet.next('REQUEST');
    // the hub cancels the stream at the agent
    expect(await quiet.next('RESET')).toMatchObject({ streamId: req.streamId, code: ResetCode.CANCEL });
    const res = await pending;
    expect(res.statusCode).toBe(504);
    const problem = (await res.body.json()) as { code: string; detail: string };
    expect(problem.code).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
    expect(problem.detail).toMatch(/within 150 ms/);
    // generous: the point is that it is not the 300 s stream idle timeout
    expect(Date.now() - started).toBeLessThan(10_000);
    quiet.ws.terminate();
  });

  it('counts from the hand-over: time in the Slime-Block queue is not charged', async () => {
    let release: () => void = () => {};
    await using upstream = await startUpstream(async (req, res) => {
      if (req.url === '/hold') await new Promise<void>((r) => (release = r));
      res.end(req.url);
    });
    await using hub = await startHub({ requestTimeoutMs: 300 });
    await using _agent = await startAgent(hub, upstream);
    const holding = request(`${hub.url}/hold`, { headers: { 'slime-block': '1' } });
    await vi.waitFor(() => expect(upstream.count).toBe(1));
    const queued = request(`${hub.url}/queued`, { headers: { 'slime-block': '1' } });
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    // /hold passes its own deadline while the second request waits in the queue
    const first = await holding;
    expect(first.statusCode).toBe(504);
    await first.body.dump();
    release();
    const second = await queued;
    expect(second.statusCode).toBe(200);
    expect(await second.body.text()).toBe('/queued');
  });

  it('a router rule sets its own deadline, and 0 turns it off', async () => {
    const policy: PolicyDoc = {
      router: [
        { match: { pathPrefix: '/fast/' }, to: '*', requestTimeout: '100ms' },
        { match: { pathPrefix: '/long/' }, to: '*', requestTimeout: 0 },
      ],
    } as PolicyDoc;
    await using hub = await startHub({ requestTimeoutMs: 60_000, policy });
    {
      const quiet = await rawAgent(hub.url, { slots: 2 });
      quiet.send({ type: 'CREDIT', streamId: 0, count: 2 });
      await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(2));
      const fast = await request(`${hub.url}/fast/x`);
      expect(fast.statusCode).toBe(504);
      await fast.body.dump();
      // /long/ has no deadline: the agent answers when it likes
      const long = request(`${hub.url}/long/x`);
      const req = await quiet.next('REQUEST');
      const fastReq = req.target === '/long/x' ? req : await quiet.next('REQUEST');
      quiet.send({ type: 'RESPONSE', streamId: fastReq.streamId, endStream: true, status: 200, headers: [] });
      expect((await long).statusCode).toBe(200);
      quiet.ws.terminate();
    }
  });

  it('the policy file refuses a malformed requestTimeout', () => {
    const hub = createHub({ secret: SECRET });
    const result = hub.engine.validate({ router: [{ to: '*', requestTimeout: 'soon' }] });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toMatch(/router\[0\]\.requestTimeout/);
    hub.destroy();
  });
});
