import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { startAgent, startHub } from './helpers/harness.js';
import { openWs, startWsUpstream } from './helpers/ws-upstream.js';

const MiB = 1024 * 1024;
const MESSAGES = 64;
// Windows (2 x 256 KiB), WebSocket high-water marks (1 MiB each side) and the kernel's loopback
// buffers of the sockets on the way (4 MiB measured on Linux loopback), far below what was queued.
const BOUND = 16 * MiB;

const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, 'ws')}${path}`;

/** Waits until the bytes that left `sender` stop growing: the pipeline is full and holding. */
async function stalled(sender: WebSocket, total: number): Promise<number> {
  let last = -1;
  let left = 0;
  await vi.waitFor(
    () => {
      left = total - sender.bufferedAmount;
      const still = left === last;
      last = left;
      expect(still && sender.bufferedAmount > 0).toBe(true);
    },
    { timeout: 20_000, interval: 150 },
  );
  return left;
}

function receive(ws: WebSocket, count: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    let bytes = 0;
    ws.on('message', (data: Buffer) => {
      bytes += data.length;
      if (++n === count) resolve(bytes);
    });
  });
}

describe('a slow reader on either side is bounded in memory', () => {
  it('a client that stops reading holds the upstream back, then gets every byte', async () => {
    await using upstream = await startWsUpstream({ echo: false });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const client = await openWs(wsUrl(hub.url, '/firehose'));
    await vi.waitFor(() => expect(upstream.sockets.length).toBe(1));
    const server = upstream.sockets[0]!;
    client.pause();
    const chunk = Buffer.alloc(MiB, 7);
    for (let i = 0; i < MESSAGES; i++) server.send(chunk);
    const left = await stalled(server, MESSAGES * (MiB + 10));
    expect(left).toBeLessThan(BOUND);
    const all = receive(client, MESSAGES);
    client.resume();
    expect(await all).toBe(MESSAGES * MiB);
    const closed = once(client, 'close');
    client.close(1000);
    await closed;
  }, 60_000);

  it('an upstream that stops reading holds the client back, then gets every byte', async () => {
    await using upstream = await startWsUpstream({ echo: false });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const client = await openWs(wsUrl(hub.url, '/sink'));
    await vi.waitFor(() => expect(upstream.sockets.length).toBe(1));
    const server = upstream.sockets[0]!;
    server.pause();
    const chunk = Buffer.alloc(MiB, 9);
    for (let i = 0; i < MESSAGES; i++) client.send(chunk);
    const left = await stalled(client, MESSAGES * (MiB + 14));
    expect(left).toBeLessThan(BOUND);
    const all = receive(server, MESSAGES);
    server.resume();
    expect(await all).toBe(MESSAGES * MiB);
    const closed = once(client, 'close');
    client.close(1000);
    await closed;
  }, 60_000);
});
