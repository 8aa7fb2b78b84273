import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { readAll, startAgent, startHub } from './helpers/harness.js';
import { startRoutingHub } from './helpers/routing-hub.js';
import { nextMessage, openWs, startWsUpstream } from './helpers/ws-upstream.js';

const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, 'ws')}${path}`;

/** A WebSocket the hub refuses: its status and problem code. */
async function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string }> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {});
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  expect(res.headers['content-type']).toBe('application/problem+json');
  const body = JSON.parse((await readAll(res)).toString()) as { code: string };
  return { status: res.statusCode ?? 0, code: body.code };
}

describe('client WebSockets go through the policy pipeline like any request', () => {
  it('app password: refused without it, carried with it (and never passed upstream)', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub({ appPassword: 'pw' });
    await using _agent = await startAgent(hub, upstream);
    expect(await refusal(wsUrl(hub.url, '/chat'))).toEqual({ status: 401, code: 'ERR_HUB_UNAUTHORIZED' });
    expect(upstream.requests).toHaveLength(0);
    const ws = await openWs(wsUrl(hub.url, '/chat'), undefined, { headers: { 'slime-app-password': 'pw' } });
    ws.send('hi');
    expect((await nextMessage(ws)).data.toString()).toBe('hi');
    expect(upstream.requests[0]?.headers['slime-app-password']).toBeUndefined();
    ws.close(1000);
    await once(ws, 'close');
  });

  it('access rules and rate limits refuse upgrades with their problem codes', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startRoutingHub({
      access: [{ action: 'deny', match: { pathPrefix: '/admin/' } }],
      ratelimits: [{ name: 'one', limit: 1, window: '1m', match: { pathPrefix: '/limited' } }],
    });
    await using _agent = await startAgent(hub, upstream);
    expect(await refusal(wsUrl(hub.url, '/admin/socket'))).toEqual({
      status: 403,
      code: 'ERR_HUB_FORBIDDEN',
    });
    const first = await openWs(wsUrl(hub.url, '/limited'));
    expect(await refusal(wsUrl(hub.url, '/limited'))).toEqual({ status: 429, code: 'ERR_HUB_RATE_LIMITED' });
    expect(upstream.requests.map((r) => r.url)).toEqual(['/limited']);
    first.close(1000);
    await once(first, 'close');
  });
});
