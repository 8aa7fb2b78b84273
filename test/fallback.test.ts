import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startAgent, startUpstream } from './helpers/harness.js';
import { type Echo, echo, startRoutingHub } from './helpers/routing-hub.js';

describe('fallback chains', () => {
  it('primary 503 -> cache group 200, with the endpoint params and headers', async () => {
    await using primary = await startUpstream(echo('primary', 503));
    await using cache = await startUpstream(echo('cache'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [
        {
          on: [500, 502, 503, 504, 'no-agent', 'timeout'],
          endpoints: [
            { to: 'cache', params: { fallback_cache: 'true' }, headers: { 'x-fallback': 'cache' } },
          ],
        },
      ],
    });
    await using _p = await startAgent(hub, primary, { name: 'p', scopes: ['primary'] });
    await using _c = await startAgent(hub, cache, { name: 'c', scopes: ['cache'] });
    const res = await request(`${hub.url}/api/v1/core/?q=1`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['slime-fallback-attempts']).toBe('1');
    const body = (await res.body.json()) as Echo;
    expect(body.who).toBe('cache');
    expect(body.url).toBe('/api/v1/core/?q=1&fallback_cache=true');
    expect(body.headers['x-fallback']).toBe('cache');
    expect(primary.count).toBe(1);
    expect(hub.attempts).toEqual(['ok']);
  });

  it('primary 500 -> cache 500 -> second URL 200 seeing its params and headers', async () => {
    await using primary = await startUpstream(echo('primary', 500));
    await using cache = await startUpstream(echo('cache', 500));
    await using second = await startUpstream(echo('second'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [
        {
          on: [500, 503],
          endpoints: [
            { to: cache.url, params: { fallback_cache_endpoint: 'true' } },
            {
              to: `${second.url}/west`,
              params: { fallback_data_center_endpoint: 'true' },
              headers: { 'X-Data-Center': 'west', 'x-tenant': 'override' },
            },
          ],
        },
      ],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/api/v1/core/items`, { headers: { 'x-tenant': 'client' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['slime-fallback-attempts']).toBe('2');
    expect(res.headers['slime-agent-id']).toBeUndefined();
    const body = (await res.body.json()) as Echo;
    expect(body.who).toBe('second');
    expect(body.url).toBe('/west/api/v1/core/items?fallback_data_center_endpoint=true');
    expect(body.headers['x-data-center']).toBe('west');
    expect(body.headers['x-tenant']).toBe('override');
    expect(body.headers.host).toBe(`127.0.0.1:${second.port}`);
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect([primary.count, cache.count, second.count]).toEqual([1, 1, 1]);
    expect(hub.attempts).toEqual(['status', 'ok']);
  });

  it('all fail -> the last failure is returned as it was, not a masked 500', async () => {
    await using primary = await startUpstream(echo('primary', 503));
    await using last = await startUpstream((_req, res) => {
      res.writeHead(504, { 'content-type': 'text/plain', 'x-from': 'last' });
      res.end('last endpoint is down');
    });
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [{ on: [503, 504, 'no-agent'], endpoints: [{ to: 'absent-group' }, { to: last.url }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(504);
    expect(res.headers['x-from']).toBe('last');
    expect(res.headers['slime-fallback-attempts']).toBe('2');
    expect(await res.body.text()).toBe('last endpoint is down');
    expect(hub.attempts).toEqual(['no-agent', 'status']);
  });

  it('when the last failure is an error it is the problem+json of that error', async () => {
    await using primary = await startUpstream(echo('primary', 502));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [{ on: [502, 'no-agent'], endpoints: [{ to: 'nobody-here' }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['slime-fallback-attempts']).toBe('1');
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_NO_AGENT');
  });

  it('an unlisted status (501) passes through untouched', async () => {
    await using primary = await startUpstream((_req, res) => {
      res.writeHead(501, { 'x-primary': 'yes' });
      res.end('not implemented here');
    });
    await using cache = await startUpstream(echo('cache'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [{ on: [500, 502, 503, 504], endpoints: [{ to: cache.url }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(501);
    expect(res.headers['x-primary']).toBe('yes');
    expect(res.headers['slime-fallback-attempts']).toBeUndefined();
    expect(await res.body.text()).toBe('not implemented here');
    expect(cache.count).toBe(0);
  });

  it('a hanging endpoint is abandoned after its timeout and the next one is tried', async () => {
    let hungGone: Promise<unknown> | undefined;
    await using hanging = await startUpstream((req) => {
      hungGone = once(req.socket, 'close');
      // never answers
    });
    await using good = await startUpstream(echo('good'));
    await using hub = await startRoutingHub({
      fallback: [
        {
          on: ['no-agent', 'timeout'],
          endpoints: [{ to: hanging.url, timeout: '200ms' }, { to: good.url }],
        },
      ],
    });
    const res = await request(`${hub.url}/slow`);
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as Echo).who).toBe('good');
    expect(res.headers['slime-fallback-attempts']).toBe('2');
    expect(hub.attempts).toEqual(['timeout', 'ok']);
    // the abandoned request was aborted, not left running
    await hungGone;
    expect(hanging.inFlight).toBe(0);
  });

  it('a primary that hangs past primaryTimeout counts as timeout: cancelled at its agent, and the endpoint serves', async () => {
    let primaryGone: Promise<unknown> | undefined;
    await using primary = await startUpstream((req) => {
      primaryGone = once(req.socket, 'close');
      // never answers
    });
    await using good = await startUpstream(echo('good'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [{ on: ['timeout'], primaryTimeout: '200ms', endpoints: [{ to: good.url }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/slow`);
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as Echo).who).toBe('good');
    expect(res.headers['slime-fallback-attempts']).toBe('1');
    expect(hub.attempts).toEqual(['ok']);
    // the primary's upstream call was aborted through its agent, not left running
    await primaryGone;
    await vi.waitFor(() => expect(primary.inFlight).toBe(0));
    // without `timeout` in `on`, the same deadline answers 504 itself
    hub.engine.update({
      router: [{ to: 'primary' }],
      fallback: [{ on: [503], primaryTimeout: '100ms', endpoints: [{ to: good.url }] }],
    });
    const late = await request(`${hub.url}/slow`);
    expect(late.statusCode).toBe(504);
    expect(((await late.body.json()) as { code: string }).code).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
    expect(good.count).toBe(1);
  });

  it('replays a POST body byte-exact when the rule opts in to non-idempotent methods', async () => {
    const payload = randomBytes(300_000);
    const digest = createHash('sha256').update(payload).digest('hex');
    await using primary = await startUpstream(echo('primary', 503));
    await using cache = await startUpstream(echo('cache'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [
        {
          match: { path: '/opt-in' },
          on: [503],
          nonIdempotent: true,
          endpoints: [{ to: 'cache' }, { to: cache.url }],
        },
        { on: [503], endpoints: [{ to: cache.url }] },
      ],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    await using _c = await startAgent(hub, cache, { scopes: ['cache'] });
    const res = await request(`${hub.url}/opt-in`, { method: 'POST', body: payload });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as Echo;
    expect(body).toMatchObject({
      who: 'cache',
      method: 'POST',
      bodyLength: payload.length,
      bodySha256: digest,
    });
    // without the opt-in a POST is never sent twice
    const plain = await request(`${hub.url}/plain`, { method: 'POST', body: payload });
    expect(plain.statusCode).toBe(503);
    expect(plain.headers['slime-fallback-attempts']).toBeUndefined();
    await plain.body.dump();
    expect(cache.count).toBe(1);
  });

  it('a body above the replay limit is not retried (primary answer returned)', async () => {
    await using primary = await startUpstream(echo('primary', 503));
    await using cache = await startUpstream(echo('cache'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [{ on: [503], nonIdempotent: true, maxBodyBytes: 1000, endpoints: [{ to: cache.url }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    // with a Content-Length the decision is made up front
    const known = await request(`${hub.url}/x`, { method: 'PUT', body: randomBytes(5000) });
    expect(known.statusCode).toBe(503);
    expect(((await known.body.json()) as Echo).who).toBe('primary');
    // streamed without a length: the spool notices when it overflows
    async function* chunks() {
      for (let i = 0; i < 5; i++) yield randomBytes(1000);
    }
    const streamed = await request(`${hub.url}/x`, { method: 'PUT', body: Readable.from(chunks()) });
    expect(streamed.statusCode).toBe(503);
    expect(((await streamed.body.json()) as Echo).bodyLength).toBe(5000);
    expect(cache.count).toBe(0);
  });

  it('loop prevention: an endpoint whose params are already on the request is skipped', async () => {
    await using primary = await startUpstream(echo('primary', 503));
    await using cache = await startUpstream(echo('cache'));
    await using second = await startUpstream(echo('second'));
    await using hub = await startRoutingHub({
      router: [{ to: 'primary' }],
      fallback: [
        {
          on: [503],
          endpoints: [
            { to: cache.url, params: { fallback_cache: 'true' } },
            { to: second.url, params: { fallback_dc: 'west' } },
          ],
        },
      ],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const res = await request(`${hub.url}/x?fallback_cache=true`);
    expect(((await res.body.json()) as Echo).who).toBe('second');
    expect(res.headers['slime-fallback-attempts']).toBe('1');
    expect(cache.count).toBe(0);
    expect(hub.attempts).toEqual(['skipped-loop', 'ok']);
    // every endpoint already visited: the primary's answer stands
    const looped = await request(`${hub.url}/x?fallback_cache=true&fallback_dc=west`);
    expect(looped.statusCode).toBe(503);
    expect(looped.headers['slime-fallback-attempts']).toBe('0');
    expect(((await looped.body.json()) as Echo).who).toBe('primary');
  });

  it('no agent connected -> the fallback endpoint serves', async () => {
    await using backup = await startUpstream(echo('backup'));
    await using hub = await startRoutingHub({
      fallback: [{ on: ['no-agent'], endpoints: [{ to: backup.url, headers: { 'x-why': 'no-agent' } }] }],
    });
    const res = await request(`${hub.url}/anything?a=1`);
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as Echo;
    expect(body).toMatchObject({ who: 'backup', url: '/anything?a=1' });
    expect(body.headers['x-why']).toBe('no-agent');
  });

  it('a fallback counts once against rate limits', async () => {
    await using primary = await startUpstream(echo('primary', 503));
    await using cache = await startUpstream(echo('cache'));
    await using hub = await startRoutingHub({
      ratelimits: [{ name: 'two', limit: 2, window: '1m' }],
      router: [{ to: 'primary' }],
      fallback: [{ on: [503], endpoints: [{ to: cache.url }] }],
    });
    await using _p = await startAgent(hub, primary, { scopes: ['primary'] });
    const a = await request(`${hub.url}/x`);
    const b = await request(`${hub.url}/x`);
    const c = await request(`${hub.url}/x`);
    await Promise.all([a.body.dump(), b.body.dump(), c.body.dump()]);
    expect([a.statusCode, b.statusCode, c.statusCode]).toEqual([200, 200, 429]);
  });
});
