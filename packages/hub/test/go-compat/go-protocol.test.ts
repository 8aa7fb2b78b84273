import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { CloseCode } from '@slime/protocol';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { SECRET, startAgent, startHub, startUpstream } from '../../../../test/helpers/harness.js';
import { createHubMetrics } from '../../src/observability/hub-metrics.js';
import { createStatusSource } from '../../src/observability/status.js';
import { closed, GoAgentClient, post, readText } from './go-agent-client.js';
import { mintGoToken } from './go-token-fixture.js';

const TOKEN = mintGoToken(SECRET, { id: 77n, name: 'go-1' });
const worker = (hub: { url: string }, agentId: number | string = 7, token = TOKEN, upstream?: string) =>
  new GoAgentClient({ hub: hub.url, token, agentId, ...(upstream ? { upstream } : {}) });
const json = async (r: { body: { json(): Promise<unknown> } }) =>
  (await r.body.json()) as { code: string; detail: string };
const credits = (hub: { hub: { agents(): Array<{ credits: number }> } }) =>
  hub.hub.agents().reduce((n, a) => n + a.credits, 0);

describe('the Go agent protocol on our hub', () => {
  it('answers join with 200 and an empty body, and shows the hardware report; refuses one beyond 8 KiB', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub);
    const hw = { CPUCores: 16, GPUNames: ['A100'], PlatformOS: 'linux' };
    expect(await w.join(hw)).toEqual({ status: 200, body: '' });
    const { abort } = w.startAccept();
    await vi.waitFor(() =>
      expect(hub.hub.agents()[0]).toMatchObject({ id: 'go-1#go-7', hardware: hw, credits: 1 }),
    );
    abort();
    expect((await w.join({ blob: 'a'.repeat(9000) })).status).toBe(400);
  });

  it('holds a poll silently, then hands the request over in HTTP/1.1 wire format and streams the submit back', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const app = request(`${hub.url}/path/x?q=1&r=%20`, {
      method: 'POST',
      headers: { 'x-custom': 'yes', 'slime-app-password': 'not-forwarded', 'slime-block': '1' },
      body: 'hello',
    });
    const poll = await pending.poll;
    expect(poll.status).toBe(200);
    expect(poll.connectionId).toMatch(/^\d{1,19}$/);
    const req = poll.request!;
    expect(req).toMatchObject({ method: 'POST', target: '/path/x?q=1&r=%20', framing: 'length' });
    expect(req.headers[0]).toEqual(['Host', `127.0.0.1:${hub.port}`]);
    const names = req.headers.map(([n]) => n.toLowerCase());
    expect(names).toEqual(
      expect.arrayContaining(['x-custom', 'content-length', 'x-forwarded-for', 'x-request-id']),
    );
    expect(names.filter((n) => n.startsWith('slime-'))).toEqual([]);
    expect(await readText(req.body as never)).toBe('hello');
    // the worker is busy until it polls again
    expect(credits(hub)).toBe(0);
    const submitted = w.submit(
      poll.connectionId!,
      'HTTP/1.1 201 Created\r\nX-Up: 1\r\nContent-Length: 5\r\n\r\n',
      [Buffer.from('wor'), Buffer.from('ld')],
    );
    const res = await app;
    expect(res.statusCode).toBe(201);
    expect(res.headers['slime-agent-id']).toBe('go-1#go-7');
    expect(res.headers['x-up']).toBe('1');
    expect(await res.body.text()).toBe('world');
    expect(await submitted).toEqual({ status: 200, body: '' });
    poll.close();

    // a body without Content-Length goes chunked
    const next = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const app2 = request(`${hub.url}/up`, {
      method: 'PUT',
      body: Readable.from([Buffer.from('a'), Buffer.from('bc')]),
    });
    const poll2 = await next.poll;
    expect(poll2.request!.framing).toBe('chunked');
    expect(await readText(poll2.request!.body as never)).toBe('abc');
    await w.submit(poll2.connectionId!, 'HTTP/1.1 204 No Content\r\n\r\n');
    expect((await app2).statusCode).toBe(204);
    poll2.close();
  });

  it('refuses bad tokens and agent ids with 401, unknown paths and connections with 404, another token with 403', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const call = async (path: string, headers: Record<string, string>) => {
      const r = await post(`${hub.url}${path}`, headers, '').res;
      return { status: r.statusCode, body: await readText(r), connection: r.headers.connection };
    };
    const h = (token: string, id = '1') => ({ 'slime-agent-token': token, 'slime-agent-id': id });
    expect((await call('/v1/agent/join', h('NOT-A-TOKEN'))).status).toBe(401);
    expect((await call('/v1/agent/join', h(mintGoToken('other secret', { id: 1n, name: 'x' })))).status).toBe(
      401,
    );
    const expired = mintGoToken(SECRET, {
      id: 2n,
      name: 'old',
      expireAt: Math.floor(Date.now() / 1000) - 60,
    });
    expect(await call('/v1/agent/join', h(expired))).toMatchObject({ status: 401, body: /expired/ });
    expect((await call('/v1/agent/join', h(TOKEN, 'abc'))).status).toBe(401);
    expect((await call('/v1/agent/join', h(TOKEN, '+0012'))).status).toBe(200);
    expect((await call('/v1/agent/leave', h(TOKEN))).status).toBe(404);
    expect(await call('/v1/agent/submit', { ...h(TOKEN), 'slime-connection-id': '12345' })).toMatchObject({
      status: 404,
      connection: 'close',
    });
    // an application request that merely looks like one is still an application request
    expect((await request(`${hub.url}/v1/agent/join`, { method: 'POST' })).statusCode).toBe(503);

    // a live connection id, submitted with another token
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const app = request(`${hub.url}/x`);
    const poll = await pending.poll;
    const other = mintGoToken(SECRET, { id: 78n, name: 'go-2' });
    expect(
      await call('/v1/agent/submit', { ...h(other), 'slime-connection-id': poll.connectionId! }),
    ).toMatchObject({
      status: 403,
    });
    await w.submit(poll.connectionId!, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect((await app).statusCode).toBe(200);
    poll.close();

    // a refused poll is answered after a second: the Go agent would poll again at once
    const started = performance.now();
    expect((await call('/v1/agent/accept', h(expired))).status).toBe(401);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('a new poll from the same worker replaces the old one, and gives up the request it held', async () => {
    await using up = await startUpstream((_req, res) => res.end('from the other worker'));
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub, 7);
    const first = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const second = w.startAccept();
    const replaced = await first.poll;
    expect(replaced.status).toBe(400);
    expect(hub.hub.agents()).toHaveLength(1);
    // the worker takes a GET, then polls again without a submit (its upstream call failed)
    const app = request(`${hub.url}/idempotent`, { headers: { 'slime-block': '1' } });
    const taken = await second.poll;
    expect(taken.request!.target).toBe('/idempotent');
    const other = worker(hub, 8, TOKEN, up.url);
    await other.start();
    const again = w.startAccept();
    const res = await app;
    // safe to repeat: it ran on the other worker, never again on this one
    expect(res.headers['slime-agent-id']).toBe('go-1#go-8');
    expect(await res.body.text()).toBe('from the other worker');
    again.abort();
    taken.close();
    await other.stop();
  });

  it('a worker lost with a POST gets it a 502; one that never answers gets 504; a late submit is refused', async () => {
    await using hub = await startHub({ acceptGoTokens: true, requestTimeoutMs: 300 });
    const w = worker(hub);
    let pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const post1 = request(`${hub.url}/p`, { method: 'POST', body: 'data' });
    let poll = await pending.poll;
    await readText(poll.request!.body as never);
    poll.close();
    const lost = await post1;
    expect(lost.statusCode).toBe(502);
    expect((await json(lost)).code).toBe('ERR_HUB_AGENT_LOST');

    pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const hung = request(`${hub.url}/slow`);
    poll = await pending.poll;
    const pollClosed = closed(poll.res);
    const res = await hung;
    expect(res.statusCode).toBe(504);
    expect((await json(res)).code).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
    // the hub closed the poll's connection: the Go agent's upstream call is cancelled with it
    await pollClosed;
    const late = await w.submit(poll.connectionId!, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(late.status).toBe(404);
  });

  it('a worker that dies mid-response aborts the client; a malformed response is a 502', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub);
    let pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const app = request(`${hub.url}/stream`);
    let poll = await pending.poll;
    const sub = post(`${hub.url}/v1/agent/submit`, w.headers({ 'slime-connection-id': poll.connectionId! }));
    sub.req.on('error', () => {});
    sub.req.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
    const res = await app;
    expect(res.statusCode).toBe(200);
    sub.req.destroy();
    await expect(res.body.text()).rejects.toThrow();
    poll.close();

    pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const bad = request(`${hub.url}/bad`);
    poll = await pending.poll;
    const submitted = w.submit(poll.connectionId!, 'HTTP/1.1 OK\r\n\r\n');
    const r = await bad;
    expect(r.statusCode).toBe(502);
    expect((await json(r)).code).toBe('ERR_HUB_UPSTREAM_ERROR');
    await expect(submitted).rejects.toThrow();
    poll.close();
  });

  it('a client that leaves mid-response closes the submit connection (the Go agent stops its upstream)', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const controller = new AbortController();
    const app = request(`${hub.url}/events`, { signal: controller.signal });
    const poll = await pending.poll;
    const sub = post(`${hub.url}/v1/agent/submit`, w.headers({ 'slime-connection-id': poll.connectionId! }));
    const submitClosed = closed(sub.req);
    sub.req.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    sub.req.write('9\r\ndata: 1\n\n\r\n');
    const res = await app;
    const it = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value).toString()).toBe('data: 1\n\n');
    controller.abort();
    await submitClosed;
    expect(sub.req.destroyed).toBe(true);
    poll.close();
  });

  it('keeps our agents\u2019 limits: a request too large for a REQUEST frame is 400 and the worker stays free', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const headers: Record<string, string> = {};
    for (let i = 0; i < 260; i++) headers[`x-h${i}`] = '1';
    const res = await request(`${hub.url}/many`, { headers });
    expect(res.statusCode).toBe(400);
    await res.body.dump();
    expect(credits(hub)).toBe(1);
    pending.abort();
  });

  it('drains: waiting polls get 503, a request in flight finishes', async () => {
    const hub = await startHub({ acceptGoTokens: true });
    const busy = worker(hub, 1);
    const idle = worker(hub, 2);
    const p1 = busy.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const app = request(`${hub.url}/inflight`);
    const poll = await p1.poll;
    const p2 = idle.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    const closing = hub.hub.close();
    expect((await p2.poll).status).toBe(503);
    await busy.submit(poll.connectionId!, 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone');
    const res = await app;
    expect(await res.body.text()).toBe('done');
    poll.close();
    await closing;
  });

  it('revocation by name closes the worker and refuses its polls; idle workers are forgotten', async () => {
    const revoked = new Set<string>();
    await using hub = await startHub({
      acceptGoTokens: true,
      isRevoked: (c) => revoked.has(c.sub),
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 200,
    });
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(credits(hub)).toBe(1));
    revoked.add('go-1');
    expect(hub.hub.closeAgents((c) => revoked.has(c.sub), CloseCode.TOKEN_REVOKED, 'token revoked')).toBe(1);
    expect((await pending.poll).status).toBe(401);
    expect(hub.hub.agents()).toHaveLength(0);
    expect((await w.join()).status).toBe(401);

    const w2 = worker(hub, 9, mintGoToken(SECRET, { id: 5n, name: 'go-9' }));
    const p = w2.startAccept();
    await vi.waitFor(() => expect(hub.hub.agents()).toHaveLength(1));
    p.abort();
    // no poll for longer than the heartbeat timeout: gone
    await vi.waitFor(() => expect(hub.hub.agents()).toHaveLength(0));
  });

  it('/status and /metrics tell Go workers and Go tokens apart', async () => {
    await using up = await startUpstream((_req, res) => res.end('ok'));
    await using hub = await startHub({ acceptGoTokens: true });
    await using _native = await startAgent(hub, up, {
      token: mintGoToken(SECRET, { id: 3n, name: 'native-on-go-token' }),
    });
    const w = worker(hub);
    const pending = w.startAccept();
    await vi.waitFor(() => expect(hub.hub.agents()).toHaveLength(2));
    const status = createStatusSource({ hub: hub.hub })();
    expect(status.agents.map((a) => [a.name, a.protocol]).sort()).toEqual([
      ['go-1', 'go'],
      ['native-on-go-token', 'slime'],
    ]);
    const metrics = await createHubMetrics(hub.hub, { defaultMetrics: false }).metrics();
    expect(metrics).toContain('slime_go_agents{via="long-poll"} 1');
    expect(metrics).toContain('slime_go_agents{via="go-token"} 1');
    pending.abort();
  });

  it('without --accept-go-tokens, refuses Go agent calls with a 404 that names the flag', async () => {
    await using hub = await startHub();
    const w = worker(hub);
    const joined = await w.join();
    expect(joined.status).toBe(404);
    expect(joined.body).toContain('--accept-go-tokens');
  });
});
