import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';

describe('hub + agent smoke', () => {
  it('forwards a GET and a POST end to end', async () => {
    await using upstream = await startUpstream(async (req, res) => {
      const body = await readAll(req);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          body: body.toString(),
          xff: req.headers['x-forwarded-for'],
        }),
      );
    });
    await using hub = await startHub();
    await using agent = await startAgent(hub, upstream);
    const get = await request(`${hub.url}/hello?x=1`);
    expect(get.statusCode).toBe(200);
    expect(get.headers['slime-agent-id']).toBe(agent.agent.hubAgentId);
    const json = (await get.body.json()) as Record<string, string>;
    expect(json).toMatchObject({ method: 'GET', url: '/hello?x=1', body: '' });
    expect(json.xff).toBe('127.0.0.1');
    const post = await request(`${hub.url}/submit`, { method: 'POST', body: 'payload' });
    expect(post.statusCode).toBe(200);
    expect(await post.body.json()).toMatchObject({ method: 'POST', url: '/submit', body: 'payload' });
  });
});
