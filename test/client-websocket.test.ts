import { once } from 'node:events';
import { request } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startAgent, startHub } from './helpers/harness.js';
import { nextMessage, openWs, startWsUpstream } from './helpers/ws-upstream.js';

const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, 'ws')}${path}`;

describe('client WebSockets through hub and agent (protocol 3)', () => {
  it('echoes text and binary, a 16 MiB message, ping/pong, and passes the close code through', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const ws = await openWs(wsUrl(hub.url, '/chat?room=1'));
    expect(upstream.requests[0]?.url).toBe('/chat?room=1');

    ws.send('hello');
    const text = await nextMessage(ws);
    expect(text).toEqual({ data: Buffer.from('hello'), isBinary: false });

    const bin = Buffer.from([0, 1, 2, 250, 255]);
    ws.send(bin);
    const echoed = await nextMessage(ws);
    expect(echoed.isBinary).toBe(true);
    expect(echoed.data).toEqual(bin);

    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    ws.send(big);
    const bigBack = await nextMessage(ws);
    expect(bigBack.data.length).toBe(big.length);
    expect(bigBack.data.equals(big)).toBe(true);

    ws.ping(Buffer.from('are you there'));
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    expect(pong.toString()).toBe('are you there');

    ws.send('close:4321:bye now');
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect(code).toBe(4321);
    expect(reason.toString()).toBe('bye now');
  });

  it('negotiates a subprotocol end to end and names the serving agent', async () => {
    await using upstream = await startWsUpstream({ protocols: ['chat.v2'] });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { agentId: 'ws-agent' });
    const ws = new WebSocket(wsUrl(hub.url, '/sub'), ['chat.v1', 'chat.v2']);
    const upgraded = once(ws, 'upgrade');
    const opened = once(ws, 'open');
    const [res] = (await upgraded) as [import('node:http').IncomingMessage];
    await opened;
    expect(ws.protocol).toBe('chat.v2');
    expect(res.headers['slime-agent-id']).toBe('ws-agent');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(upstream.requests[0]?.headers['sec-websocket-protocol']).toBe('chat.v1,chat.v2');
    expect(upstream.requests[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    ws.close(1000);
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1000);
  });

  it('gives the client the upstream refusal as it was (status, headers, body)', async () => {
    await using upstream = await startWsUpstream({ refusePath: '/nope' });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const ws = new WebSocket(wsUrl(hub.url, '/nope'));
    ws.on('error', () => {});
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-upstream']).toBe('refused');
    expect(res.headers['content-type']).toBe('application/json');
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ error: 'not here', path: '/nope' });
  });

  it('aborts the client socket quickly when the agent dies mid-socket (1006)', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub();
    const { agent } = await startAgent(hub, upstream);
    const ws = await openWs(wsUrl(hub.url, '/live'));
    ws.send('ping');
    await nextMessage(ws);
    const started = Date.now();
    const closed = once(ws, 'close');
    agent.destroy();
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a client that drops its socket closes the upstream socket too (RESET to the agent)', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const ws = await openWs(wsUrl(hub.url, '/drop'));
    ws.send('x');
    await nextMessage(ws);
    const server = upstream.sockets[0]!;
    const serverClosed = once(server, 'close');
    ws.terminate();
    const [code] = (await serverClosed) as [number];
    expect(code).toBe(1006);
    await vi.waitFor(() => expect(hub.hub.agents()[0]).toMatchObject({ upgradedStreams: 0 }));
  });

  it('hub shutdown ends open sockets and does not hang on them', async () => {
    await using upstream = await startWsUpstream();
    const hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const ws = await openWs(wsUrl(hub.url, '/long'));
    const closed = once(ws, 'close');
    await hub.hub.close();
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
  });

  it('holds many concurrent sockets without taking worker slots from ordinary requests', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub();
    // One worker slot: 200 open sockets must not keep a plain request waiting. Each handshake takes
    // the slot until its 101, so the clients ask to wait their turn (Slime-Block).
    await using _agent = await startAgent(hub, upstream, { numWorker: 1 });
    const sockets = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        openWs(wsUrl(hub.url, `/s${i}`), undefined, { headers: { 'slime-block': '1' } }),
      ),
    );
    const replies = await Promise.all(
      sockets.map(async (ws, i) => {
        const reply = nextMessage(ws);
        ws.send(`n${i}`);
        return (await reply).data.toString();
      }),
    );
    expect(replies).toEqual(sockets.map((_, i) => `n${i}`));
    // the sockets hold no worker slot: the agent's one slot is free for ordinary requests
    expect(hub.hub.agents()[0]).toMatchObject({ upgradedStreams: 200, inFlight: 0, credits: 1 });
    const plain = await fetch(`${hub.url}/plain`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe('plain GET /plain');
    await Promise.all(
      sockets.map(async (ws) => {
        const closed = once(ws, 'close');
        ws.close(1000);
        expect(((await closed) as [number])[0]).toBe(1000);
      }),
    );
    await vi.waitFor(() => expect(hub.hub.agents()[0]).toMatchObject({ upgradedStreams: 0, inFlight: 0 }));
  });
});

describe('upgrade metrics', () => {
  it('count open upgraded streams, bytes each way, outcomes and how streams ended', async () => {
    await using upstream = await startWsUpstream({ refusePath: '/no' });
    await using hub = await startHub();
    const { metrics } = hub.hub;
    await using _agent = await startAgent(hub, upstream);
    const value = async (name: string) => {
      const line = (await metrics.metrics()).split('\n').find((l) => l.startsWith(name));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    const ws = await openWs(wsUrl(hub.url, '/m'));
    expect(await value('slime_upgraded_streams_open')).toBe(1);
    ws.send(Buffer.alloc(1000, 1));
    await nextMessage(ws);
    await vi.waitFor(async () => {
      expect(
        await value('slime_upgraded_stream_bytes_total{direction="to_upstream"}'),
      ).toBeGreaterThanOrEqual(1000);
      expect(await value('slime_upgraded_stream_bytes_total{direction="to_client"}')).toBeGreaterThanOrEqual(
        1000,
      );
    });
    const closed = once(ws, 'close');
    ws.close(1000);
    await closed;
    await vi.waitFor(async () => {
      expect(await value('slime_upgraded_streams_open')).toBe(0);
      expect(await value('slime_upgraded_streams_closed_total{how="normal"}')).toBe(1);
    });
    const refused = new WebSocket(wsUrl(hub.url, '/no'));
    refused.on('error', () => {});
    await once(refused, 'unexpected-response');
    await vi.waitFor(async () => {
      expect(await value('slime_upgrades_total{outcome="switched"}')).toBe(1);
      expect(await value('slime_upgrades_total{outcome="not_switched"}')).toBe(1);
    });
  });
});

describe('upgrade refusals are problem+json with a code', () => {
  function rawUpgrade(
    port: number,
    path: string,
    extra = '',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...(extra ? { 'slime-scope': extra } : {}),
        },
      });
      req.on('upgrade', () => reject(new Error('unexpected 101')));
      req.on('response', async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('501 ERR_HUB_UPGRADE_UNSUPPORTED with no agent that carries upgrades, or with --max-upgrades 0', async () => {
    await using upstream = await startWsUpstream();
    await using hub = await startHub();
    const none = await rawUpgrade(hub.port, '/x');
    expect(none.status).toBe(501);
    expect(none.body.code).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    await using off = await startHub({ maxUpgrades: 0 });
    await using _agent = await startAgent(off, upstream);
    const disabled = await rawUpgrade(off.port, '/x');
    expect(disabled.status).toBe(501);
    expect(disabled.body.code).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
  });

  it('503 ERR_HUB_UPGRADE_LIMIT once an agent holds --max-upgrades sockets; a freed one admits again', async () => {
    await using upstream = await startWsUpstream();
    // what the access log says of each request: its status and outcome
    const seen: string[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as { msg: string; status: number; outcome: string };
          if (entry.msg === 'request') seen.push(`${entry.status} ${entry.outcome}`);
        },
      },
    );
    await using hub = await startHub({ maxUpgrades: 2, logger });
    await using _agent = await startAgent(hub, upstream);
    const a = await openWs(wsUrl(hub.url, '/a'));
    const b = await openWs(wsUrl(hub.url, '/b'));
    const refused = await rawUpgrade(hub.port, '/c');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('ERR_HUB_UPGRADE_LIMIT');
    await vi.waitFor(() => expect(seen).toContain('503 ERR_HUB_UPGRADE_LIMIT'));
    // ordinary requests still flow at the limit
    expect((await fetch(`${hub.url}/plain`)).status).toBe(200);
    const closed = once(a, 'close');
    a.close(1000);
    await closed;
    await vi.waitFor(async () => {
      const c = await openWs(wsUrl(hub.url, '/c'));
      c.terminate();
    });
    b.terminate();
  });
});
