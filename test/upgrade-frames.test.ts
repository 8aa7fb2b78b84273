import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ResetCode } from '@slime/protocol';
import { describe, expect, it, vi } from 'vitest';
import { startHub } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

const HANDSHAKE =
  'GET /chat HTTP/1.1\r\nHost: app\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket, h2c\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

async function client(port: number): Promise<{ socket: Socket; read: (until: string) => Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let buf = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (c: Buffer) => {
    buf += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const read = async (until: string) => {
    while (!buf.includes(until)) await new Promise<void>((r) => waiters.push(r));
    const i = buf.indexOf(until) + until.length;
    const out = buf.slice(0, i);
    buf = buf.slice(i);
    return out;
  };
  return { socket, read };
}

describe('upgraded streams on the wire (a hand-driven version-3 agent)', () => {
  it('REQUEST with UPGRADE, 101 returns the credit, bytes both ways, END is a half close', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url, { maxVersion: 3, streamWindow: 65_536 });
    expect(agent.welcome.version).toBe(3);
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));

    const c = await client(hub.port);
    // bytes sent right behind the head wait for the 101, then lead the tunnel
    c.socket.write(`${HANDSHAKE}early!`);
    const req = await agent.next('REQUEST');
    expect(req).toMatchObject({ upgrade: true, endStream: false, method: 'GET', target: '/chat' });
    const fields = Object.fromEntries(req.headers);
    expect(fields.upgrade).toBe('websocket');
    expect(fields.connection).toBeUndefined();
    expect(fields['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(hub.hub.agents()[0]?.credits).toBe(0);

    agent.send({
      type: 'RESPONSE',
      streamId: req.streamId,
      endStream: false,
      status: 101,
      headers: [
        ['upgrade', 'websocket'],
        ['sec-websocket-accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
      ],
    });
    const head = await c.read('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head).toContain('Connection: Upgrade\r\n');
    expect(head).toContain('Upgrade: websocket\r\n');
    expect(head).toContain('sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(head).toContain('slime-agent-id: ');
    // the 101 gave the credit back; the stream lives on without it
    expect(hub.hub.agents()[0]).toMatchObject({ credits: 1, inFlight: 0, upgradedStreams: 1 });

    c.socket.write('from client');
    const up = await agent.readBody(req.streamId, { grant: true, until: 17 });
    expect(up.toString()).toBe('early!from client');
    agent.send({ type: 'DATA', streamId: req.streamId, data: Buffer.from('from upstream') });
    expect(await c.read('from upstream')).toBe('from upstream');

    const ended = once(c.socket, 'end');
    agent.send({ type: 'END', streamId: req.streamId });
    await ended;
    c.socket.end();
    // the client's FIN comes back as END; both halves closed, the stream is gone
    const rest = await agent.readBody(req.streamId, { grant: true });
    expect(rest.length).toBe(0);
    await vi.waitFor(() => expect(hub.hub.agents()[0]).toMatchObject({ upgradedStreams: 0, credits: 1 }));
    agent.ws.close();
  });

  it('a 101 that crosses the hub RESET returns the credit; an agent RESET after the 101 aborts the client', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url, { maxVersion: 3 });
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));

    const gone = await client(hub.port);
    gone.socket.write(HANDSHAKE);
    const first = await agent.next('REQUEST');
    gone.socket.destroy();
    const reset = await agent.next('RESET');
    expect(reset).toMatchObject({ streamId: first.streamId, code: ResetCode.CANCEL });
    agent.send({ type: 'RESPONSE', streamId: first.streamId, endStream: false, status: 101, headers: [] });
    await vi.waitFor(() =>
      expect(hub.hub.agents()[0]).toMatchObject({ credits: 1, inFlight: 0, upgradedStreams: 0 }),
    );

    const c = await client(hub.port);
    c.socket.write(HANDSHAKE);
    const second = await agent.next('REQUEST');
    agent.send({
      type: 'RESPONSE',
      streamId: second.streamId,
      endStream: false,
      status: 101,
      headers: [['upgrade', 'websocket']],
    });
    await c.read('\r\n\r\n');
    const closed = once(c.socket, 'close');
    agent.send({
      type: 'RESET',
      streamId: second.streamId,
      code: ResetCode.UPSTREAM_ERROR,
      message: 'upstream socket reset',
    });
    await closed;
    await vi.waitFor(() => expect(hub.hub.agents()[0]).toMatchObject({ upgradedStreams: 0, credits: 1 }));
    agent.ws.close();
  });

  it('TRAILERS from a version-2 agent, or on an upgraded stream, close its connection (4000)', async () => {
    await using hub = await startHub();
    const old = await rawAgent(hub.url, { maxVersion: 2 });
    old.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const answer = fetch(`${hub.url}/x`).then((r) => r.status);
    const req = await old.next('REQUEST');
    old.send({ type: 'RESPONSE', streamId: req.streamId, endStream: false, status: 200, headers: [] });
    const closed = once(old.ws, 'close');
    old.send({ type: 'TRAILERS', streamId: req.streamId, headers: [['x', '1']] });
    expect(((await closed) as [number])[0]).toBe(4000);
    await answer.catch(() => 0);

    const agent = await rawAgent(hub.url, { maxVersion: 3 });
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const c = await client(hub.port);
    c.socket.write(HANDSHAKE);
    const up = await agent.next('REQUEST');
    agent.send({ type: 'RESPONSE', streamId: up.streamId, endStream: false, status: 101, headers: [] });
    await c.read('\r\n\r\n');
    const agentClosed = once(agent.ws, 'close');
    agent.send({ type: 'TRAILERS', streamId: up.streamId, headers: [] });
    expect(((await agentClosed) as [number])[0]).toBe(4000);
  });
});
