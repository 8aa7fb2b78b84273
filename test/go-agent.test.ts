// Rolling migration from the Go Slime Proxy (--accept-go-tokens): a hand-driven Go-protocol agent
// (long polls in HTTP/1.1 wire format, as the Go agent speaks them) served through our hub next to
// a native agent, on one queue.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode } from '@slime/protocol';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { hubOptionsFrom } from '../packages/cli/src/commands/hub-run.js';
import { formatStatus } from '../packages/cli/src/commands/hub-status.js';
import { HUB_RUN_OPTIONS } from '../packages/cli/src/option-specs.js';
import { Settings } from '../packages/cli/src/settings.js';
import { GoAgentClient } from '../packages/hub/test/go-compat/go-agent-client.js';
import { mintGoToken, registerGoToken } from '../packages/hub/test/go-compat/go-token-fixture.js';
import {
  deferred,
  readAll,
  SECRET,
  startAgent,
  startHub,
  startUpstream,
  type TestHub,
  type TestUpstream,
} from './helpers/harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const BIG = Buffer.alloc(8 * 1024 * 1024 + 17);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >> 12)) & 0xff;

/** The echo upstream: /echo (request as JSON, body hashed), /big (8 MiB), /hold (until released). */
function upstreamHandler(hold?: { wait: (seq: string) => Promise<void>; arrived: string[] }) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/big')) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(BIG);
      return;
    }
    if (req.url?.startsWith('/hold')) {
      const seq = String(req.headers['x-seq']);
      hold?.arrived.push(seq);
      await hold?.wait(seq);
      res.end(`held ${req.headers['x-seq']}`);
      return;
    }
    const body = await readAll(req);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        bytes: body.length,
        sha: sha(body),
        text: body.length < 100 ? body.toString() : '',
        headers: req.headers,
      }),
    );
  };
}

interface Mixed extends AsyncDisposable {
  hub: TestHub;
  upstream: TestUpstream;
  go: GoAgentClient[];
}

/** A hub with the flag, a native agent and `workers` Go workers sharing one token. */
async function startMixed(
  opts: {
    goToken?: string;
    nativeScopes?: string[];
    workers?: number;
    hold?: { wait: (seq: string) => Promise<void>; arrived: string[] };
  } = {},
): Promise<Mixed> {
  const upstream = await startUpstream(upstreamHandler(opts.hold));
  const hub = await startHub({ acceptGoTokens: true });
  const native = await startAgent(hub, upstream, {
    name: 'native',
    numWorker: 1,
    ...(opts.nativeScopes ? { scopes: opts.nativeScopes } : {}),
  });
  const token = opts.goToken ?? registerGoToken(SECRET, { name: 'go-agent' });
  const go = Array.from(
    { length: opts.workers ?? 1 },
    (_, i) => new GoAgentClient({ hub: hub.url, token, agentId: 4000 + i, upstream: upstream.url }),
  );
  for (const w of go) await w.start();
  await vi.waitFor(() => expect(hub.hub.agents().filter((a) => a.credits > 0)).toHaveLength(1 + go.length));
  return {
    hub,
    upstream,
    go,
    async [Symbol.asyncDispose]() {
      for (const w of go) await w.stop();
      await native.agent.close();
      await hub.hub.close();
      await upstream.close();
    },
  };
}

const echo = async (r: Awaited<ReturnType<typeof request>>) =>
  (await r.body.json()) as {
    method: string;
    url: string;
    bytes: number;
    sha: string;
    text: string;
    headers: Record<string, string>;
  };

describe('Go agents through our hub, next to native agents', () => {
  it('serves GET and POST through a Go worker and a native agent alike', async () => {
    await using m = await startMixed({
      goToken: registerGoToken(SECRET, { name: 'go-agent', scopes: ['go'] }),
      nativeScopes: ['native'],
    });
    // a Go worker is free again only once it polls again: back to back, the requests wait for it
    for (const [scope, agent] of [
      ['go', 'go-agent#go-4000'],
      ['native', /^native#\d+$/],
    ] as const) {
      const get = await request(`${m.hub.url}/echo/a?b=c`, {
        headers: { 'slime-scope': scope, 'slime-block': '1', 'x-app': 'v' },
      });
      expect(get.statusCode).toBe(200);
      expect(get.headers['slime-agent-id']).toMatch(agent);
      const g = await echo(get);
      expect(g).toMatchObject({ method: 'GET', url: '/echo/a?b=c', bytes: 0 });
      expect(g.headers['x-app']).toBe('v');
      expect(g.headers['x-forwarded-for']).toBeDefined();
      expect(Object.keys(g.headers).filter((h) => h.startsWith('slime-'))).toEqual([]);
      const posted = await request(`${m.hub.url}/echo/p`, {
        method: 'POST',
        body: 'payload',
        headers: { 'slime-scope': scope, 'slime-block': '1' },
      });
      expect(posted.headers['slime-agent-id']).toMatch(agent);
      expect(await echo(posted)).toMatchObject({ method: 'POST', text: 'payload' });
    }
    expect(m.go[0]!.served).toEqual(['GET /echo/a?b=c', 'POST /echo/p']);
  });

  it('carries large bodies both ways through a Go worker', async () => {
    await using m = await startMixed({
      goToken: registerGoToken(SECRET, { name: 'go-agent', scopes: ['go'] }),
    });
    const headers = { 'slime-scope': 'go', 'slime-block': '1' };
    const up = await request(`${m.hub.url}/echo/upload`, { method: 'PUT', body: BIG, headers });
    expect(up.headers['slime-agent-id']).toBe('go-agent#go-4000');
    expect(await echo(up)).toMatchObject({ bytes: BIG.length, sha: sha(BIG) });
    const down = await request(`${m.hub.url}/big`, { headers });
    expect(down.headers['content-length']).toBe(String(BIG.length));
    expect(sha(await readAll(down.body))).toBe(sha(BIG));
  });

  it('streams server-sent events through a Go worker chunk by chunk', async () => {
    const seen = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: first\n\n');
      // the second event waits until the client has the first: nothing is held back on the way
      await seen.promise;
      res.end('data: second\n\n');
    });
    await using hub = await startHub({ acceptGoTokens: true });
    const go = new GoAgentClient({
      hub: hub.url,
      token: registerGoToken(SECRET, { name: 'sse' }),
      agentId: 1,
      upstream: upstream.url,
    });
    await go.start();
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const res = await request(`${hub.url}/events`);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const events: string[] = [];
    for await (const chunk of res.body) {
      events.push(Buffer.from(chunk).toString());
      seen.resolve();
    }
    expect(events).toEqual(['data: first\n\n', 'data: second\n\n']);
    await go.stop();
  });

  it('Slime-Block: one FIFO queue for both kinds, woken by whichever frees first', async () => {
    // every /hold request waits for its own release
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const gate = (seq: string) => {
      if (!gates.has(seq)) gates.set(seq, deferred<void>());
      return gates.get(seq)!;
    };
    const arrived: string[] = [];
    await using m = await startMixed({ hold: { wait: (seq) => gate(seq).promise, arrived } });
    const send = (seq: string) =>
      request(`${m.hub.url}/hold?seq=${seq}`, { headers: { 'x-seq': seq, 'slime-block': '1' } });
    // both agents busy
    const held = { a: send('a'), b: send('b') };
    await vi.waitFor(() => expect(arrived).toHaveLength(2));
    const onGo = m.go[0]!.served[0]!.endsWith('seq=a') ? 'a' : 'b';
    const onNative = onGo === 'a' ? 'b' : 'a';
    const queued: Array<ReturnType<typeof send>> = [];
    for (const seq of ['q0', 'q1', 'q2', 'q3']) {
      queued.push(send(seq));
      // in the queue before the next one is sent, so "arrival order" is well defined
      await vi.waitFor(() => expect(m.hub.hub.queueLength).toBe(queued.length));
    }
    expect(m.hub.hub.queueLength).toBe(4);
    // without Slime-Block: 503 at once, from our hub (the Go hub took a second per check)
    const refused = await request(`${m.hub.url}/echo/now`);
    expect(refused.statusCode).toBe(503);
    await refused.body.dump();

    // the Go worker frees first: its next poll takes the head of the queue
    gate(onGo).resolve();
    await vi.waitFor(() => expect(arrived).toHaveLength(3));
    expect(arrived[2]).toBe('q0');
    // then the native agent: the next in line
    gate(onNative).resolve();
    await vi.waitFor(() => expect(arrived).toHaveLength(4));
    expect(arrived[3]).toBe('q1');
    for (const seq of ['q0', 'q1', 'q2', 'q3']) gate(seq).resolve();
    const agents = await Promise.all(queued.map(async (p) => (await p).headers['slime-agent-id'] as string));
    expect(agents[0]).toBe('go-agent#go-4000');
    expect(agents[1]).toMatch(/^native#/);
    expect(arrived.slice(2)).toEqual(['q0', 'q1', 'q2', 'q3']);
    for (const r of [held.a, held.b, ...queued]) expect((await r).statusCode).toBe(200);
    expect(m.hub.hub.queueLength).toBe(0);
  });

  it('routes by the Go token\u2019s scopes and scope paths', async () => {
    const token = mintGoToken(SECRET, {
      id: 991n,
      name: 'llm-box',
      scopes: ['llm'],
      scopePaths: ['/v1/chat'],
    });
    await using m = await startMixed({ goToken: token });
    const chat = await request(`${m.hub.url}/v1/chat`, {
      method: 'POST',
      body: '{}',
      headers: { 'slime-scope': 'llm' },
    });
    expect(chat.headers['slime-agent-id']).toBe('llm-box#go-4000');
    await chat.body.dump();
    // the Go worker serves only /v1/chat, and nobody else has the scope
    const other = await request(`${m.hub.url}/v1/other`, { headers: { 'slime-scope': 'llm' } });
    expect(other.statusCode).toBe(503);
    expect(((await other.body.json()) as { code: string }).code).toBe('ERR_HUB_NO_AGENT');
    // unscoped requests to other paths go to the native agent only
    for (let i = 0; i < 3; i++) {
      const r = await request(`${m.hub.url}/elsewhere`);
      expect(r.headers['slime-agent-id']).toMatch(/^native#/);
      await r.body.dump();
    }
  });

  it('a request a Go worker drops runs on the native agent when safe, and gets 502 when not', async () => {
    await using m = await startMixed();
    m.go[0]!.behaviour = () => 'drop';
    // concurrent GETs: some go to the Go worker, which gives each up (as when its upstream call
    // fails); each then runs on the native agent
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        request(`${m.hub.url}/echo/g${i}`, { headers: { 'slime-block': '1' } }),
      ),
    );
    for (const r of results) {
      expect(r.statusCode).toBe(200);
      expect(r.headers['slime-agent-id']).toMatch(/^native#/);
      await r.body.dump();
    }
    expect(m.go[0]!.served.length).toBeGreaterThan(0);
    // a POST with a body may have reached the Go worker's upstream: 502, never a hang
    await using solo = await startMixed({
      goToken: registerGoToken(SECRET, { name: 'solo', scopes: ['solo'] }),
    });
    solo.go[0]!.behaviour = () => 'drop';
    const post = await request(`${solo.hub.url}/echo/p`, {
      method: 'POST',
      body: 'x',
      headers: { 'slime-scope': 'solo' },
    });
    expect(post.statusCode).toBe(502);
    expect(((await post.body.json()) as { code: string }).code).toBe('ERR_HUB_AGENT_LOST');
  });

  it('our agent runs on a Go token (binary swapped, token kept), and revocation by name closes it', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('swapped'));
    const revoked = new Set<string>();
    await using hub = await startHub({ acceptGoTokens: true, isRevoked: (c) => revoked.has(c.sub) });
    const goToken = registerGoToken(SECRET, { name: 'gpu-3', scopes: ['gpu'] });
    await using native = await startAgent(hub, upstream, { token: goToken });
    const r = await request(`${hub.url}/x`, { headers: { 'slime-scope': 'gpu' } });
    expect(r.headers['slime-agent-id']).toMatch(/^gpu-3#\d+$/);
    expect(await r.body.text()).toBe('swapped');
    revoked.add('gpu-3');
    expect(hub.hub.closeAgents((c) => revoked.has(c.sub), CloseCode.TOKEN_REVOKED, 'token revoked')).toBe(1);
    await vi.waitFor(() => expect(hub.hub.agents()).toHaveLength(0));
    await native.agent.close();
  });

  it('refuses an expired Go token, from a Go agent and from ours', async () => {
    await using hub = await startHub({ acceptGoTokens: true });
    const expired = mintGoToken(SECRET, { id: 5n, name: 'old', expireAt: Math.floor(Date.now() / 1000) - 1 });
    const go = new GoAgentClient({ hub: hub.url, token: expired, agentId: 1 });
    const joined = await go.join();
    expect(joined.status).toBe(401);
    expect(joined.body).toContain('expired');
    await expect(startAgent(hub, 'http://127.0.0.1:9', { token: expired })).rejects.toMatchObject({
      code: 'ERR_AGENT_UNAUTHORIZED',
    });
    expect(hub.hub.agents()).toEqual([]);
  });

  it('without the flag, refuses both: Go agents (404 naming the flag) and Go tokens (401)', async () => {
    await using hub = await startHub();
    const token = registerGoToken(SECRET, { name: 'go-agent' });
    const go = new GoAgentClient({ hub: hub.url, token, agentId: 1 });
    const joined = await go.join();
    expect(joined.status).toBe(404);
    expect(joined.body).toContain('--accept-go-tokens');
    await expect(startAgent(hub, 'http://127.0.0.1:9', { token })).rejects.toMatchObject({
      code: 'ERR_AGENT_UNAUTHORIZED',
    });
    expect(hub.hub.agents()).toEqual([]);
  });

  it('`slime hub run --accept-go-tokens` (or ACCEPT_GO_TOKENS) turns it on; `hub status` shows the protocol', () => {
    const from = (flags: Record<string, unknown>, env: Record<string, string> = {}) =>
      hubOptionsFrom(new Settings(HUB_RUN_OPTIONS, { flags: { secret: 's', ...flags }, env }));
    expect(from({ acceptGoTokens: true }).acceptGoTokens).toBe(true);
    expect(from({}, { ACCEPT_GO_TOKENS: 'yes' }).acceptGoTokens).toBe(true);
    expect(from({}, { ACCEPT_GO_TOKENS: 'false' })).not.toHaveProperty('acceptGoTokens');
    expect(from({})).not.toHaveProperty('acceptGoTokens');

    const agent = {
      scopes: [],
      slots: 1,
      inFlight: 0,
      state: 'ready',
      connectedSeconds: 5,
      remoteAddress: '10.0.0.9',
    };
    const mixed = formatStatus({
      agents: [
        { ...agent, name: 'gpu-1', id: 'gpu-1#1', protocol: 'slime' },
        { ...agent, name: 'old', id: 'old#go-4000', protocol: 'go' },
      ],
      queueLength: 0,
      activeRequests: 0,
    });
    expect(mixed).toMatch(
      /^NAME\s+ID\s+SCOPES\s+SLOTS\s+INFLIGHT\s+STATE\s+HEALTH\s+SINCE\s+REMOTE\s+PROTOCOL\n/,
    );
    expect(mixed).toMatch(/old\s+old#go-4000\s+\(any\)\s+1\s+0\s+ready\s+ok\s+5s\s+10\.0\.0\.9\s+go\n/);
    expect(mixed).toContain('go agents 1');
    // the column goes away with the last Go agent
    const done = formatStatus({
      agents: [{ ...agent, name: 'gpu-1', id: 'gpu-1#1', protocol: 'slime' }],
      queueLength: 0,
      activeRequests: 0,
    });
    expect(done).not.toContain('PROTOCOL');
    expect(done).not.toContain('go agents');
  });
});
