import { once } from 'node:events';
import { signAgentToken } from '@slime/hub';
import { decodeFrame, encodeFrame, type Frame } from '@slime/protocol';
import WebSocket from 'ws';
import { SECRET } from './harness.js';

export interface RawAgentOptions {
  token?: string;
  /** Answer the hub's pings (default true); false plays a frozen agent. */
  autoPong?: boolean;
  slots?: number;
  streamWindow?: number;
  /** Highest protocol version announced in HELLO (default 1: the oldest agent). */
  maxVersion?: number;
  /** ws's masking-key generator (default random keys; our agent uses zero keys). */
  generateMask?: (mask: Buffer) => void;
}

/**
 * A hand-driven agent that speaks the protocol frame by frame, so a test decides when to grant
 * credit, refuse or misbehave. Resolves once the hub's WELCOME arrived.
 */
export async function rawAgent(hubUrl: string, opts: RawAgentOptions = {}) {
  const token = opts.token ?? (await signAgentToken({ secret: SECRET, name: 'raw' }));
  const ws = new WebSocket(`${hubUrl.replace('http', 'ws')}/_slime/agent`, {
    headers: { authorization: `Bearer ${token}` },
    autoPong: opts.autoPong ?? true,
    ...(opts.generateMask ? { generateMask: opts.generateMask } : {}),
  });
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    frames.push(decodeFrame(data as Buffer));
    for (const w of waiters.splice(0)) w();
  });
  await once(ws, 'open');
  const arrival = () => new Promise<void>((r) => waiters.push(r));
  /** The next frame of this type (earlier frames of other types stay queued). */
  const next = async <T extends Frame['type']>(type: T): Promise<Extract<Frame, { type: T }>> => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === type);
      if (i !== -1) return frames.splice(i, 1)[0] as Extract<Frame, { type: T }>;
      await arrival();
    }
  };
  const send = (f: Frame) => ws.send(encodeFrame(f));
  /** Reads a request body on `streamId` until END (or `until` bytes), granting WINDOW as it goes (or not). */
  const readBody = async (streamId: number, o: { grant: boolean; until?: number }) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      if (o.until !== undefined && size >= o.until) return Buffer.concat(chunks);
      const i = frames.findIndex((f) => f.streamId === streamId && (f.type === 'DATA' || f.type === 'END'));
      if (i === -1) {
        await arrival();
        continue;
      }
      const f = frames.splice(i, 1)[0]!;
      if (f.type === 'END') return Buffer.concat(chunks);
      if (f.type === 'DATA') {
        chunks.push(f.data);
        size += f.data.byteLength;
        if (o.grant) send({ type: 'WINDOW', streamId, increment: f.data.byteLength });
      }
    }
  };
  send({
    type: 'HELLO',
    streamId: 0,
    minVersion: 1,
    maxVersion: opts.maxVersion ?? 1,
    slots: opts.slots ?? 1,
    streamWindow: opts.streamWindow ?? 65536,
    name: 'raw',
    agentId: 'raw',
    upstream: 'none',
    software: 'test',
    hardware: '',
  });
  const welcome = await next('WELCOME');
  return { ws, next, send, readBody, welcome };
}
