import { once } from 'node:events';
import { createServer } from 'node:net';
import { signAgentToken } from '@slime/hub';
import { CloseCode } from '@slime/protocol';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { deferred, SECRET, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

async function upgradeStatus(hubUrl: string, authorization: string | undefined): Promise<number> {
  const ws = new WebSocket(`${hubUrl.replace('http', 'ws')}/_slime/agent`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  ws.on('error', () => {});
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  ws.terminate();
  return res.statusCode;
}

describe('agent authentication', () => {
  it('refuses missing, malformed, expired, foreign and alg:none tokens with 401 before upgrading', async () => {
    await using hub = await startHub();
    const expired = await signAgentToken({
      secret: SECRET,
      name: 'old',
      ageSeconds: 1,
      now: () => Date.now() - 10_000,
    });
    const foreign = await signAgentToken({ secret: 'another-secret', name: 'x' });
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'evil', jti: 'j', iat: 1 }),
    ).toString('base64url')}.`;
    const hs512 = await new SignJWT({ sub: 'x', jti: 'j' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuedAt()
      .sign(new TextEncoder().encode(SECRET));
    expect(await upgradeStatus(hub.url, undefined)).toBe(401);
    expect(await upgradeStatus(hub.url, 'Bearer not-a-jwt')).toBe(401);
    expect(await upgradeStatus(hub.url, `Bearer ${expired}`)).toBe(401);
    expect(await upgradeStatus(hub.url, `Bearer ${foreign}`)).toBe(401);
    expect(await upgradeStatus(hub.url, `Bearer ${none}`)).toBe(401);
    expect(await upgradeStatus(hub.url, `Bearer ${hs512}`)).toBe(401);
    expect(hub.hub.agents()).toEqual([]);
  });

  it('makes the agent library fail fast with ERR_AGENT_UNAUTHORIZED on a refused token', async () => {
    await using hub = await startHub();
    const foreign = await signAgentToken({ secret: 'another-secret', name: 'x' });
    await expect(startAgent(hub, 'http://127.0.0.1:9', { token: foreign })).rejects.toMatchObject({
      code: 'ERR_AGENT_UNAUTHORIZED',
    });
  });
});

describe('misbehaving agents', () => {
  it('drops a frozen agent that stops answering pings and re-dispatches its request', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('from the live agent'));
    await using hub = await startHub({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 });
    const frozen = await rawAgent(hub.url, { autoPong: false });
    frozen.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/x`, { headers: { 'slime-block': '1' } });
    await frozen.next('REQUEST'); // it takes the request and then says nothing at all
    await using _live = await startAgent(hub, upstream, { name: 'live' });
    const [code] = (await once(frozen.ws, 'close')) as [number];
    expect(code).toBe(1006); // terminated: a frozen peer gets no close handshake
    const res = await pending;
    expect(await res.body.text()).toBe('from the live agent');
    expect(hub.hub.agents().map((a) => a.name)).toEqual(['live']);
  });

  it('closes only the agent that sent a malformed frame; other agents keep streaming', async () => {
    const release = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      res.write('first-');
      await release.promise;
      res.end('second');
    });
    await using hub = await startHub();
    await using _good = await startAgent(hub, upstream, { name: 'good' });
    const res = await request(`${hub.url}/stream`);
    const reader = res.body[Symbol.asyncIterator]();
    expect(String((await reader.next()).value)).toBe('first-');
    const bad = await rawAgent(hub.url);
    bad.ws.send(Buffer.from([0x7f, 0, 0, 0, 1, 2, 3]));
    const [code, reason] = (await once(bad.ws, 'close')) as [number, Buffer];
    expect(code).toBe(CloseCode.PROTOCOL_ERROR);
    expect(reason.toString()).toMatch(/unknown frame type/);
    release.resolve();
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value);
    expect(rest).toBe('second');
  });

  it('closes an agent that sends frames for streams it was never given', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'RESPONSE', streamId: 7, endStream: true, status: 200, headers: [] });
    const [code] = (await once(bad.ws, 'close')) as [number];
    expect(code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('resets a stream that stays idle too long and answers 504', async () => {
    await using hub = await startHub({ heartbeatIntervalMs: 20, streamIdleTimeoutMs: 100 });
    const quiet = await rawAgent(hub.url);
    quiet.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/x`);
    const req = await quiet.next('REQUEST');
    const reset = await quiet.next('RESET');
    expect(reset).toMatchObject({ streamId: req.streamId, code: 8 });
    const res = await pending;
    expect(res.statusCode).toBe(504);
    await res.body.dump();
    // the credit comes back only when the agent confirms with its own RESET
    expect(hub.hub.agents()[0]?.credits).toBe(0);
    quiet.send({ type: 'RESET', streamId: req.streamId, code: 1, message: 'ok' });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
  });

  it('an agent reconnects after the hub restarts on the same port, without duplicating work', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    // find a free port, then run two hubs on it one after the other
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    probe.close();
    const first = await startHub({ port });
    const agent = await startAgent(first, upstream);
    await first.hub.close();
    await using second = await startHub({ port });
    await vi.waitFor(() => expect(second.hub.agents()).toHaveLength(1), { timeout: 5000 });
    const res = await request(`${second.url}/x`);
    expect(await res.body.text()).toBe('ok');
    expect(upstream.count).toBe(1);
    await agent.agent.close();
  });
});
