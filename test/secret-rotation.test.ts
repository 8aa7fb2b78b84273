import { signAgentToken } from '@slime/hub';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

// Issue #24: secret rotation, two accepted secrets during a rollover.
describe('rotating the hub secret', () => {
  it('accepts tokens of the previous secret during a rollover, and only then', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    const oldToken = await signAgentToken({ secret: 'old-secret', name: 'old' });
    const newToken = await signAgentToken({ secret: 'new-secret', name: 'new' });
    const foreign = await signAgentToken({ secret: 'someone-else', name: 'x' });

    await using rolling = await startHub({ secret: 'new-secret', previousSecrets: ['old-secret'] });
    await using a = await startAgent(rolling, upstream, { token: oldToken });
    await using b = await startAgent(rolling, upstream, { token: newToken });
    expect(a.agent.connected && b.agent.connected).toBe(true);
    await expect(startAgent(rolling, upstream, { token: foreign })).rejects.toMatchObject({
      code: 'ERR_AGENT_UNAUTHORIZED',
    });

    await using done = await startHub({ secret: 'new-secret' });
    await expect(startAgent(done, upstream, { token: oldToken })).rejects.toMatchObject({
      code: 'ERR_AGENT_UNAUTHORIZED',
    });
    await using c = await startAgent(done, upstream, { token: newToken });
    expect(c.agent.connected).toBe(true);
  });

  it('refuses a malformed previousSecrets option up front', async () => {
    await expect(startHub({ previousSecrets: [''] })).rejects.toThrow(/previousSecrets/);
  });
});
