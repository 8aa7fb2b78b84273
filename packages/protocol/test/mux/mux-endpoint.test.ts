import {
  CloseCode,
  createMuxEndpoint,
  decodeFrame,
  encodeFrame,
  type Frame,
  type MuxEndpoint,
  type MuxEndpointOptions,
  type MuxHandler,
  type MuxTimers,
  ProtocolError,
} from '@slime/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemorySocket, memorySocketPair } from './memory-socket.js';

interface TestStream {
  id: number;
  resumed: number;
  resume(): void;
}

const stream = (id: number): TestStream => ({
  id,
  resumed: 0,
  resume() {
    this.resumed++;
  },
});

/** Timers on vitest's fake clock, as Node's would be wired. */
const fakeTimers: MuxTimers = {
  now: () => Date.now(),
  schedule: (fn) => setImmediate(fn),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** An endpoint whose role records everything; stream frames go to `routed` through the table. */
function endpoint(socket: MemorySocket, options: Partial<MuxEndpointOptions<TestStream>> = {}) {
  const frames: Frame[] = [];
  const routed: Array<[TestStream, Frame]> = [];
  const closed: Array<{ code: number; reason: string; streams: TestStream[] }> = [];
  const errors: unknown[] = [];
  let mux!: MuxEndpoint<TestStream>;
  const handler: MuxHandler<TestStream> = {
    onFrame(frame) {
      frames.push(frame);
      if (frame.type === 'HELLO') mux.enter('ready');
      if (frame.type === 'DATA' || frame.type === 'END') {
        const s = mux.streams.route(frame.type, frame.streamId);
        if (s) routed.push([s, frame]);
      }
      if (frame.type === 'GOAWAY') throw new Error('the role refuses GOAWAY');
    },
    onFrameError(err) {
      errors.push(err);
      return err instanceof Error ? err.message : 'failed';
    },
    onClosed(code, reason, streams) {
      closed.push({ code, reason, streams });
    },
  };
  mux = createMuxEndpoint<TestStream>({
    socket,
    timers: fakeTimers,
    handler,
    opening: 'HELLO',
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 3000,
    ...options,
  });
  return { mux, frames, routed, closed, errors };
}

const hello = encodeFrame({
  type: 'HELLO',
  streamId: 0,
  minVersion: 1,
  maxVersion: 3,
  slots: 4,
  streamWindow: 65_536,
  name: 'a',
  agentId: '',
  upstream: '',
  software: '',
  hardware: '',
});
const data = (streamId: number, n = 3) => encodeFrame({ type: 'DATA', streamId, data: new Uint8Array(n) });
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MuxEndpoint: frames and the handshake', () => {
  it('hands decoded frames to the role once the opening frame came, and counts bytes both ways', async () => {
    const [local, peer] = memorySocketPair();
    const sent: number[] = [];
    const received: number[] = [];
    const e = endpoint(local, { onSent: (n) => sent.push(n), onReceived: (n) => received.push(n) });
    peer.send(hello, () => {});
    await settle();
    expect(e.mux.state).toBe('ready');
    expect(e.frames.map((f) => f.type)).toEqual(['HELLO']);
    expect(received).toEqual([hello.byteLength]);
    const credit = encodeFrame({ type: 'CREDIT', streamId: 0, count: 2 });
    e.mux.send(credit);
    expect(sent).toEqual([credit.byteLength]);
    expect(decodeFrame(local.sent[0]!)).toEqual({ type: 'CREDIT', streamId: 0, count: 2 });
  });

  it('closes 4000 on a frame before the opening one, naming it', async () => {
    const [local] = memorySocketPair();
    const e = endpoint(local);
    local.deliver(encodeFrame({ type: 'CREDIT', streamId: 0, count: 1 }));
    expect(e.mux.state).toBe('closed');
    expect(local.closedWith).toEqual({ code: CloseCode.PROTOCOL_ERROR, reason: 'CREDIT before HELLO' });
    expect(e.closed).toEqual([
      { code: CloseCode.PROTOCOL_ERROR, reason: 'CREDIT before HELLO', streams: [] },
    ]);
    expect((e.errors[0] as ProtocolError).code).toBe('ERR_PROTOCOL_STREAM_STATE');
  });

  it('closes 4000 on a text message and on bytes that are no frame; the role says why', () => {
    for (const [message, binary] of [
      [new TextEncoder().encode('hi'), false],
      [new Uint8Array([1, 2, 3]), true],
    ] as const) {
      const [local] = memorySocketPair();
      const e = endpoint(local);
      local.deliver(message, binary);
      expect(local.closedWith?.code).toBe(CloseCode.PROTOCOL_ERROR);
      expect(e.errors[0]).toBeInstanceOf(ProtocolError);
      expect(e.closed).toHaveLength(1);
    }
  });

  it('closes 4000 with the role reason when the role throws its own error', () => {
    const [local] = memorySocketPair();
    const e = endpoint(local);
    local.deliver(hello);
    expect(e.mux.state).toBe('ready');
    local.deliver(encodeFrame({ type: 'GOAWAY', streamId: 0, code: 0, message: '' }));
    expect(local.closedWith).toEqual({ code: CloseCode.PROTOCOL_ERROR, reason: 'the role refuses GOAWAY' });
  });

  it('keeps the flow-control close code for a flow-control violation', () => {
    const [local] = memorySocketPair();
    const mux = createMuxEndpoint<TestStream>({
      socket: local,
      timers: fakeTimers,
      opening: 'HELLO',
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 3000,
      handler: {
        onFrame: () => {
          throw new ProtocolError('ERR_PROTOCOL_FLOW_CONTROL', 'too much');
        },
        onFrameError: () => 'too much',
        onClosed: () => {},
      },
    });
    local.deliver(hello);
    expect(mux.state).toBe('closed');
    expect(local.closedWith?.code).toBe(CloseCode.FLOW_CONTROL);
  });

  it('batches the frames of one turn into one corked write', async () => {
    const [local] = memorySocketPair();
    const calls: string[] = [];
    const corked = Object.assign(local, {
      corkable: { cork: () => calls.push('cork'), uncork: () => calls.push('uncork') },
    });
    const e = endpoint(corked);
    for (let i = 0; i < 3; i++) e.mux.send(encodeFrame({ type: 'CREDIT', streamId: 0, count: 1 }));
    expect(calls).toEqual(['cork']);
    await vi.advanceTimersToNextTimerAsync();
    expect(calls).toEqual(['cork', 'uncork']);
    expect(local.sent).toHaveLength(3);
  });
});

describe('MuxEndpoint: the stream table and late frames', () => {
  it('routes frames to open streams, ignores late ones and closes on ids never opened', () => {
    const [local] = memorySocketPair();
    const e = endpoint(local);
    local.deliver(hello);
    const s1 = stream(e.mux.streams.nextId());
    e.mux.streams.open(s1.id, s1);
    const s2 = stream(e.mux.streams.nextId());
    e.mux.streams.open(s2.id, s2);
    expect([s1.id, s2.id]).toEqual([1, 2]);
    local.deliver(data(1));
    expect(e.mux.forget(1, s1)).toBe(true);
    local.deliver(data(1)); // late: crossed our RESET
    local.deliver(data(2));
    expect(e.routed.map(([s]) => s.id)).toEqual([1, 2]);
    expect(e.mux.state).toBe('ready');
    local.deliver(data(3));
    expect(local.closedWith).toEqual({
      code: CloseCode.PROTOCOL_ERROR,
      reason: 'DATA for unopened stream 3',
    });
    expect(e.closed[0]?.streams).toEqual([s2]);
    expect(e.mux.streams.size).toBe(0);
  });

  it('takes peer-opened ids only in ascending order', () => {
    const [local] = memorySocketPair();
    const { mux } = endpoint(local);
    mux.streams.accept(5);
    mux.streams.add(5, stream(5));
    expect(() => mux.streams.accept(5)).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL_DUPLICATE_STREAM' }),
    );
    expect(() => mux.streams.accept(4)).toThrow(ProtocolError);
    expect(mux.streams.route('DATA', 5)?.id).toBe(5);
    expect(mux.streams.route('DATA', 3)).toBeUndefined();
  });
});

describe('MuxEndpoint: backpressure', () => {
  it('is congested above the high-water mark and resumes waiting streams at the low one', () => {
    const [local] = memorySocketPair();
    local.holdFlush = true;
    const { mux } = endpoint(local, { highWater: 100, lowWater: 40 });
    const s = stream(1);
    const gone = stream(2);
    mux.streams.open(1, s);
    mux.streams.open(2, gone);
    mux.sendData(1, [new Uint8Array(60), new Uint8Array(60)], 120);
    expect(mux.congested).toBe(true);
    mux.waitForDrain(s);
    mux.waitForDrain(gone);
    mux.forget(2, gone);
    for (const done of local.pending.splice(0)) done();
    expect(mux.congested).toBe(false);
    expect(s.resumed).toBe(1);
    expect(gone.resumed).toBe(0);
    // no raw path here: the two chunks went out copied into one DATA frame
    const frame = decodeFrame(local.sent[0]!);
    expect(frame).toMatchObject({ type: 'DATA', streamId: 1 });
    expect(frame.type === 'DATA' && frame.data.byteLength).toBe(120);
  });

  it('writes DATA around the message layer on the raw path: its header, then the chunks as they are', () => {
    const [local] = memorySocketPair();
    const writes: Uint8Array[] = [];
    const raw = {
      socket: {
        write: (chunk: Uint8Array, cb?: (err?: Error | null) => void) => {
          writes.push(chunk);
          cb?.();
          return true;
        },
      },
      masked: false,
      open: () => true,
    };
    const { mux } = endpoint(Object.assign(local, { raw }));
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    mux.sendData(7, [a, b], 3);
    expect(writes.slice(1)).toEqual([a, b]);
    expect(writes[1]).toBe(a); // not copied
    expect(local.sent).toHaveLength(0);
  });

  it('writes DATA merged in this turn before the close frame when it closes', () => {
    const [local] = memorySocketPair();
    const order: string[] = [];
    let open = true;
    const raw = {
      socket: {
        write: (_chunk: Uint8Array, cb?: (err?: Error | null) => void) => {
          order.push(open ? 'data' : 'data after close');
          cb?.();
          return true;
        },
      },
      masked: false,
      open: () => open,
    };
    const close = local.close.bind(local);
    const socket = Object.assign(local, {
      raw,
      corkable: { cork: () => {}, uncork: () => {} },
      close: (code: number, reason: string) => {
        open = false;
        order.push('close');
        close(code, reason);
      },
    });
    const { mux } = endpoint(socket);
    mux.sendData(7, [new Uint8Array([1, 2])], 2);
    mux.sendData(7, [new Uint8Array([3])], 1); // joins the held frame
    expect(order).toEqual([]);
    mux.close(CloseCode.NORMAL, 'bye');
    expect(order).toEqual(['data', 'data', 'data', 'close']); // one head, then the two chunks
  });
});
