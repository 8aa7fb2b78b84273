import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgent } from '@slime/agent';
import { signAgentToken } from '@slime/hub';
import { CloseCode, decodeFrame, encodeFrame, type Frame } from '@slime/protocol';
import { describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { readAll, SECRET, startHub, startUpstream } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

describe('a version-3 hub with a version-2 agent', () => {
  it('sends it no upgrades (501 with a code), no TE/Trailer fields and no TRAILERS', async () => {
    await using hub = await startHub();
    const agent = await rawAgent(hub.url, { maxVersion: 2 });
    expect(agent.welcome.version).toBe(2);
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });

    // a client WebSocket: agents exist, none carries upgrades
    const refused = await new Promise<{ status: number; code: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: hub.port,
        path: '/ws',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', async (res) => {
        const body = JSON.parse((await readAll(res)).toString()) as { code: string };
        resolve({ status: res.statusCode ?? 0, code: body.code });
      });
      req.on('error', reject);
      req.end();
    });
    expect(refused).toEqual({ status: 501, code: 'ERR_HUB_UPGRADE_UNSUPPORTED' });

    // a chunked upload with trailers, from a client that takes trailers
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(
        `${hub.url}/up`,
        { method: 'POST', headers: { te: 'trailers', trailer: 'x-sum' } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.write('hello');
      req.addTrailers({ 'x-sum': '1' });
      req.end();
    });
    const head = await agent.next('REQUEST');
    expect(head.upgrade).toBeUndefined();
    const names = head.headers.map(([n]) => n);
    expect(names).not.toContain('te');
    expect(names).not.toContain('trailer');
    // the body ends with END, never TRAILERS, on a version-2 connection
    expect((await agent.readBody(head.streamId, { grant: true })).toString()).toBe('hello');
    agent.send({ type: 'RESPONSE', streamId: head.streamId, endStream: true, status: 204, headers: [] });
    expect(await answer).toBe(204);
    agent.ws.close();
  });
});

describe('a version-3 agent with a version-2 hub', () => {
  async function oldHub() {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const connected = new Promise<{
      hello: Frame;
      next: () => Promise<Frame>;
      send: (f: Frame) => void;
      closed: Promise<number>;
    }>((resolve) => {
      wss.once('connection', (ws) => {
        const frames: Frame[] = [];
        const waiters: Array<() => void> = [];
        ws.on('message', (d) => {
          frames.push(decodeFrame(d as Buffer));
          for (const w of waiters.splice(0)) w();
        });
        const next = async (): Promise<Frame> => {
          while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
          return frames.shift()!;
        };
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        void next().then((hello) => resolve({ hello, next, send: (f) => ws.send(encodeFrame(f)), closed }));
      });
    });
    return {
      url,
      connected,
      close() {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close();
      },
    };
  }

  it('speaks version 2: END in place of TRAILERS, no TE upstream, and an UPGRADE request is a protocol error', async () => {
    const seenTe: Array<string | undefined> = [];
    await using upstream = await startUpstream((req, res) => {
      seenTe.push(req.headers.te as string | undefined);
      res.write('abc');
      res.addTrailers({ 'x-sum': '9' });
      res.end();
    });
    const hub = await oldHub();
    const token = await signAgentToken({ secret: SECRET, name: 'new' });
    const agent = createAgent({ hub: hub.url, upstream: upstream.url, token, reconnectBaseMs: 10_000 });
    agent.start();
    try {
      const peer = await hub.connected;
      expect(peer.hello).toMatchObject({ type: 'HELLO', maxVersion: 3 });
      peer.send({
        type: 'WELCOME',
        streamId: 0,
        version: 2,
        streamWindow: 262_144,
        heartbeatMs: 5000,
        agentId: 'n',
      });
      expect((await peer.next()).type).toBe('CREDIT');
      peer.send({
        type: 'REQUEST',
        streamId: 1,
        endStream: true,
        method: 'GET',
        target: '/t',
        headers: [['te', 'trailers']],
      });
      const types: string[] = [];
      for (;;) {
        const f = await peer.next();
        types.push(f.type);
        if (f.type === 'END' || f.type === 'TRAILERS' || f.type === 'RESET') break;
      }
      expect(types).toEqual(['RESPONSE', 'DATA', 'END']);
      expect(seenTe).toEqual([undefined]);
      peer.send({
        type: 'REQUEST',
        streamId: 2,
        endStream: false,
        upgrade: true,
        method: 'GET',
        target: '/ws',
        headers: [['upgrade', 'websocket']],
      });
      expect(await peer.closed).toBe(CloseCode.PROTOCOL_ERROR);
      await vi.waitFor(() => expect(upstream.count).toBe(1));
    } finally {
      await agent.close();
      hub.close();
    }
  });
});
