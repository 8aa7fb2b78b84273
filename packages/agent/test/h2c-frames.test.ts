import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { H2cSession } from '../src/h2c-session.js';
import { H2cConnection } from '../src/h2c-upstream.js';

/** One HTTP/2 frame as the upstream received it (RFC 9113 §4.1). */
interface Frame {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

const DATA = 0;
const HEADERS = 1;
const END_STREAM = 1;

/**
 * A bare TCP upstream that answers the connection preface with SETTINGS and records the frames the
 * agent sends: node:http2 shows a server the stream's data and end, not how they were framed.
 */
async function frameRecorder(): Promise<{ origin: string; frames: Frame[]; close(): void }> {
  const frames: Frame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaceSeen) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        prefaceSeen = true;
      }
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) return;
        frames.push({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, length });
        buf = buf.subarray(9 + length);
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    frames,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A request body that has all its bytes and its end already, as a small request's does. */
function endedBody(text: string): Readable {
  const body = new Readable({ read() {} });
  body.push(text);
  body.push(null);
  return body;
}

describe('H2cConnection framing', () => {
  it('a body complete without trailers ends on its last DATA frame (no separate empty one)', async () => {
    const up = await frameRecorder();
    const conn = new H2cConnection(up.origin, new H2cSession(up.origin));
    const signal = new AbortController().signal;
    const options = { method: 'POST', path: '/x', headers: [], headersTimeout: 5_000, bodyTimeout: 5_000 };
    void conn
      .request({ ...options, body: endedBody('hello'), signal, trailers: () => undefined })
      .catch(() => {});
    await vi.waitFor(() =>
      expect(up.frames.some((f) => f.streamId === 1 && f.flags & END_STREAM)).toBe(true),
    );
    const stream = up.frames.filter((f) => f.streamId === 1);
    expect(stream.map((f) => [f.type, f.flags & END_STREAM, f.length > 0 ? 'bytes' : 'empty'])).toEqual([
      [HEADERS, 0, 'bytes'],
      [DATA, END_STREAM, 'bytes'],
    ]);
    await conn.destroy();
    up.close();
  });

  it('a body that ended with trailers sends them as a HEADERS frame after its DATA', async () => {
    const up = await frameRecorder();
    const conn = new H2cConnection(up.origin, new H2cSession(up.origin));
    const signal = new AbortController().signal;
    const options = { method: 'POST', path: '/x', headers: [], headersTimeout: 5_000, bodyTimeout: 5_000 };
    const trailers = (): [string, string][] => [['x-checksum', 'abc']];
    void conn.request({ ...options, body: endedBody('hello'), signal, trailers }).catch(() => {});
    await vi.waitFor(() =>
      expect(up.frames.some((f) => f.streamId === 1 && f.flags & END_STREAM)).toBe(true),
    );
    const stream = up.frames.filter((f) => f.streamId === 1);
    expect(stream.map((f) => [f.type, f.flags & END_STREAM])).toEqual([
      [HEADERS, 0],
      [DATA, 0],
      [HEADERS, END_STREAM],
    ]);
    await conn.destroy();
    up.close();
  });
});
