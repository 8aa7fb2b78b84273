import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

// Issue #24: --agentID is what the hub shows and sends in Slime-Agent-Id.
describe('agent identity', () => {
  it('the hub knows an agent by its --agentID, and keeps ids unique', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    await using hub = await startHub();
    await using first = await startAgent(hub, upstream, { name: 'gpu', agentId: 'gpu-box-1' });
    expect(first.agent.hubAgentId).toBe('gpu-box-1');
    const res = await request(`${hub.url}/x`);
    expect(res.headers['slime-agent-id']).toBe('gpu-box-1');
    await res.body.dump();
    // a second agent claiming the same id gets a suffix, never the same id
    await using second = await startAgent(hub, upstream, { name: 'gpu', agentId: 'gpu-box-1' });
    expect(second.agent.hubAgentId).toMatch(/^gpu-box-1#\d+$/);
    expect(new Set(hub.hub.agents().map((a) => a.id)).size).toBe(2);
  });

  it('without --agentID (or with one that is not a plain token) the id is name#n', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    await using hub = await startHub();
    await using plain = await startAgent(hub, upstream, { name: 'cpu' });
    expect(plain.agent.hubAgentId).toMatch(/^cpu#\d+$/);
    await using odd = await startAgent(hub, upstream, { name: 'cpu', agentId: 'has space' });
    expect(odd.agent.hubAgentId).toMatch(/^cpu#\d+$/);
  });
});
