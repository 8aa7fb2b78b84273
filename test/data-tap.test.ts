import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signAgentToken } from '@slime/hub';
import {
  CloseCode,
  createMuxEndpoint,
  encodeFrame,
  type Frame,
  Limits,
  type MuxEndpoint,
  type MuxTimers,
  webSocketMux,
} from '@slime/protocol';
import { describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SECRET, startHub } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

const timers: MuxTimers = {
  now: () => Date.now(),
  schedule: (fn) => setImmediate(fn),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

interface Stream {
  resume(): void;
}

/**
 * A real WebSocket pair on loopback, configured as the hub (server) and the agent (client) are,
 * each side an endpoint that records the frames it gets.
 */
async function endpointPair(tapData: boolean, allowSynchronousEvents = true) {
  const server = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: Limits.MAX_FRAME_BYTES,
    allowSynchronousEvents,
  });
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws)),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    perMessageDeflate: false,
    maxPayload: Limits.MAX_FRAME_BYTES,
    generateMask: (mask: Buffer) => void mask.fill(0),
    allowSynchronousEvents,
  });
  await once(client, 'open');
  const [serverWs] = (await accepted) as [WebSocket];
  const side = (ws: WebSocket, masked: boolean, opening: 'HELLO' | 'WELCOME') => {
    const frames: Frame[] = [];
    const closed: Array<{ code: number; reason: string }> = [];
    const mux: MuxEndpoint<Stream> = createMuxEndpoint<Stream>({
      socket: webSocketMux(ws, { masked, tapData }),
      timers,
      opening,
      heartbeatMs: 60_000,
      heartbeatTimeoutMs: 120_000,
      handler: {
        onFrame: (f) => void frames.push(f.type === 'DATA' ? { ...f, data: Buffer.from(f.data) } : f),
        onFrameError: (err) => (err as Error).message,
        onClosed: (code, reason) => void closed.push({ code, reason }),
      },
    });
    mux.enter('ready');
    return { ws, mux, frames, closed };
  };
  const hub = side(serverWs, false, 'HELLO');
  const agent = side(client, true, 'WELCOME');
  return {
    hub,
    agent,
    async [Symbol.asyncDispose]() {
      client.terminate();
      serverWs.terminate();
      wss.close();
      server.close();
    },
  };
}

/** What arrived on `streamId`: DATA pieces joined, and how many pieces there were. */
function received(frames: Frame[], streamId: number) {
  const pieces = frames.filter((f) => f.type === 'DATA' && f.streamId === streamId) as Array<
    Extract<Frame, { type: 'DATA' }>
  >;
  return { bytes: Buffer.concat(pieces.map((f) => f.data)), pieces: pieces.length };
}

describe('DATA taken off the WebSocket without the concat copy (DataTap)', () => {
  for (const [tapData, sync] of [
    [true, true],
    [false, true],
    // ws emitting messages a turn later: the tap stands aside, or DATA would overtake them
    [true, false],
  ] as const) {
    it(`${tapData ? 'with' : 'without'} the tap${sync ? '' : ', ws with deferred events'}: 1 MiB DATA frames arrive whole and in order with the frames around them, both ways`, async () => {
      await using pair = await endpointPair(tapData, sync);
      const tapped = tapData && sync;
      const body = randomBytes(3 * Limits.MAX_DATA_BYTES + 12_345);
      for (const [from, to] of [
        [pair.hub, pair.agent],
        [pair.agent, pair.hub],
      ] as const) {
        // frames of one turn leave in one corked write: DATA of 1 MiB between small frames
        from.mux.send(encodeFrame({ type: 'WINDOW', streamId: 1, increment: 7 }));
        for (let at = 0; at < body.length; at += Limits.MAX_DATA_BYTES) {
          const piece = body.subarray(at, at + Limits.MAX_DATA_BYTES);
          from.mux.sendData(1, [piece], piece.length);
          from.mux.sendData(3, [piece.subarray(0, 10)], 10);
        }
        from.mux.send(encodeFrame({ type: 'END', streamId: 1 }));
        await vi.waitFor(() => expect(to.frames.at(-1)?.type).toBe('END'), { timeout: 10_000 });
        const one = received(to.frames, 1);
        expect(createHash('sha256').update(one.bytes).digest('hex')).toBe(
          createHash('sha256').update(body).digest('hex'),
        );
        expect(received(to.frames, 3).bytes.length).toBe(40);
        expect(to.frames[0]).toEqual({ type: 'WINDOW', streamId: 1, increment: 7 });
        // stream 1's and stream 3's DATA alternate as sent
        const order = to.frames.filter((f) => f.type === 'DATA').map((f) => f.streamId);
        expect(order.lastIndexOf(1)).toBeLessThan(order.lastIndexOf(3));
        // the tap hands a frame in as the reads cut it (views, no copy); ws hands it whole
        if (tapped) expect(one.pieces).toBeGreaterThan(4);
        else expect(one.pieces).toBe(4);
        to.frames.length = 0;
      }
      expect(pair.hub.closed).toEqual([]);
      expect(pair.agent.closed).toEqual([]);
    });
  }
});

describe('a hub reading DATA through the tap judges bad DATA as before', () => {
  // The same bad frames from an agent whose ws masks with random keys (the hub's ws reads them)
  // and from one that masks with zero keys as ours does (the tap reads them): the same close.
  const cases: Array<[string, Frame | Uint8Array]> = [
    ['DATA on stream 0', encodeDataRaw(0, 10)],
    ['DATA above the payload limit', encodeDataRaw(1, Limits.MAX_DATA_BYTES + 1)],
    ['DATA on a stream that was never opened', encodeDataRaw(9, 100)],
  ];
  for (const [what, frame] of cases) {
    it(what, async () => {
      await using hub = await startHub();
      const outcome = async (zeroMask: boolean) => {
        const agent = await rawAgent(hub.url, zeroMask ? { generateMask: (m) => void m.fill(0) } : {});
        const closed = once(agent.ws, 'close');
        agent.ws.send(frame as Uint8Array);
        const [code, reason] = (await closed) as [number, Buffer];
        return { code, reason: reason.toString() };
      };
      const viaWs = await outcome(false);
      const viaTap = await outcome(true);
      expect(viaTap).toEqual(viaWs);
      expect(viaTap.code).toBe(CloseCode.PROTOCOL_ERROR);
    });
  }

  it('DATA before HELLO', async () => {
    await using hub = await startHub();
    const token = await signAgentToken({ secret: SECRET, name: 'raw' });
    const outcome = async (zeroMask: boolean) => {
      const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/_slime/agent`, {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
        ...(zeroMask ? { generateMask: (m: Buffer) => void m.fill(0) } : {}),
      });
      await once(ws, 'open');
      const closed = once(ws, 'close');
      ws.send(encodeDataRaw(1, 10));
      const [code, reason] = (await closed) as [number, Buffer];
      return { code, reason: reason.toString() };
    };
    const viaWs = await outcome(false);
    expect(await outcome(true)).toEqual(viaWs);
    expect(viaWs.code).toBe(CloseCode.PROTOCOL_ERROR);
  });
});

/** A DATA frame's bytes, written by hand: encodeFrame refuses the bad ones these tests need. */
function encodeDataRaw(streamId: number, payloadBytes: number): Uint8Array {
  const out = Buffer.alloc(5 + payloadBytes, 0x61);
  out[0] = 0x06;
  out.writeUInt32BE(streamId, 1);
  return out;
}
