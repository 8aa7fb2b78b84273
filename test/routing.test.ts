import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { readAll, startAgent, startUpstream } from './helpers/harness.js';
import { type Echo, echo, startRoutingHub } from './helpers/routing-hub.js';

async function whoServes(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(url, { headers });
  return ((await res.body.json()) as Echo).who;
}

describe('router', () => {
  it('A/B by param and by anchored header regex, to agent groups; no match keeps any agent', async () => {
    await using a = await startUpstream(echo('a'));
    await using b = await startUpstream(echo('b'));
    await using hub = await startRoutingHub({
      router: [
        {
          match: { pathPrefix: '/api/v1/core/', param: { name: 'account_id', value: '1057' } },
          to: 'abtest',
        },
        {
          match: { pathPrefix: '/api/v1/core/', header: { name: 'api_key', regex: '1[0-9]{4}' } },
          to: 'abtest',
        },
        { match: { pathPrefix: '/api/' }, to: 'group-a' },
      ],
    });
    await using _a = await startAgent(hub, a, { name: 'a', scopes: ['group-a'] });
    await using _b = await startAgent(hub, b, { name: 'b', scopes: ['abtest'] });
    expect(await whoServes(`${hub.url}/api/v1/core/x?account_id=1057`)).toBe('b');
    expect(await whoServes(`${hub.url}/api/v1/core/x`, { api_key: '12345' })).toBe('b');
    expect(await whoServes(`${hub.url}/api/v1/core/x?account_id=1`)).toBe('a');
    // anchored: x123456 contains a match of 1[0-9]{4} but is not one, so the catch-all rule decides
    expect(await whoServes(`${hub.url}/api/v1/core/x`, { api_key: 'x123456' })).toBe('a');
    expect(await whoServes(`${hub.url}/api/v1/core/x`, { api_key: '123456' })).toBe('a');
  });

  it('routing to an absent agent group gives 503 ERR_HUB_NO_AGENT', async () => {
    await using up = await startUpstream(echo('up'));
    await using hub = await startRoutingHub({ router: [{ to: 'nobody' }] });
    await using _a = await startAgent(hub, up);
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_NO_AGENT');
    expect(up.count).toBe(0);
  });

  it('a weighted split is sticky per key over real requests', async () => {
    await using a = await startUpstream(echo('a'));
    await using b = await startUpstream(echo('b'));
    await using hub = await startRoutingHub({
      router: [
        {
          name: 'exp',
          to: [
            { to: 'left', weight: 50 },
            { to: 'right', weight: 50 },
          ],
          sticky: 'header:x-user',
        },
      ],
    });
    await using _a = await startAgent(hub, a, { scopes: ['left'], numWorker: 4 });
    await using _b = await startAgent(hub, b, { scopes: ['right'], numWorker: 4 });
    const first = new Map<string, string>();
    for (let i = 0; i < 40; i++) first.set(`u${i}`, await whoServes(`${hub.url}/x`, { 'x-user': `u${i}` }));
    expect(new Set(first.values())).toEqual(new Set(['a', 'b']));
    for (const [user, who] of first) expect(await whoServes(`${hub.url}/y`, { 'x-user': user })).toBe(who);
  });

  it('forwards to an external URL with header hygiene, streaming, and redirects returned as they are', async () => {
    await using ext = await startUpstream(async (req, res) => {
      if (req.url?.startsWith('/base/redirect')) {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
        return;
      }
      if (req.url?.startsWith('/base/stream')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        // the second event is sent only once the client has seen the first
        await once(req, 'close').catch(() => {});
        return;
      }
      await echo('ext')(req, res);
    });
    await using hub = await startRoutingHub({ router: [{ to: `${ext.url}/base` }] });
    // node's client, since undici refuses to send hop-by-hop fields
    const req = httpRequest({
      host: '127.0.0.1',
      port: hub.port,
      path: '/p?q=1',
      headers: {
        'slime-scope': 'x',
        'x-custom': 'kept',
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret',
        'x-forwarded-for': '10.9.9.9',
      },
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    expect(res.headers['slime-agent-id']).toBeUndefined();
    const body = JSON.parse((await readAll(res)).toString()) as Echo;
    expect(body.url).toBe('/base/p?q=1');
    expect(body.headers.host).toBe(`127.0.0.1:${ext.port}`);
    expect(body.headers['x-custom']).toBe('kept');
    expect(body.headers['slime-scope']).toBeUndefined();
    expect(body.headers['x-hop']).toBeUndefined();
    expect(body.headers['x-forwarded-for']).toBe('10.9.9.9, 127.0.0.1');
    expect(body.headers['x-forwarded-host']).toBe(`127.0.0.1:${hub.port}`);

    const redirect = await request(`${hub.url}/redirect`);
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/elsewhere');
    await redirect.body.dump();

    const stream = await request(`${hub.url}/stream`);
    expect(stream.statusCode).toBe(200);
    const first = await stream.body[Symbol.asyncIterator]().next();
    expect(Buffer.from(first.value as Uint8Array).toString()).toBe('data: one\n\n');
    stream.body.destroy();
  });

  it('a request cannot choose the endpoint: an absolute-form target goes to the route, in origin-form', async () => {
    await using ext = await startUpstream(echo('ext'));
    await using hub = await startRoutingHub({ router: [{ to: ext.url }] });
    const req = httpRequest({ host: '127.0.0.1', port: hub.port, path: 'http://evil.example/steal?x=1' });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    const got = JSON.parse((await readAll(res)).toString()) as Echo;
    expect(got).toMatchObject({ who: 'ext', url: '/steal?x=1' });
    expect(ext.count).toBe(1);
  });

  it('an unreachable URL endpoint is a 502 problem, not a crash', async () => {
    const gone = await startUpstream(echo('gone'));
    const url = gone.url;
    await gone.close();
    await using hub = await startRoutingHub({ router: [{ to: url }] });
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(502);
    const text = await res.body.text();
    expect((JSON.parse(text) as { code: string }).code).toBe('ERR_HUB_UPSTREAM_UNREACHABLE');
    // the endpoint's address stays in the hub's log
    expect(text).not.toContain(new URL(url).port);
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });
});
