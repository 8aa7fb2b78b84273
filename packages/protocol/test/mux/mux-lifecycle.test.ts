import {
  CloseCode,
  createMuxEndpoint,
  encodeFrame,
  type Frame,
  type MuxEndpoint,
  type MuxEndpointOptions,
  type MuxTimers,
} from '@slime/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemorySocket, memorySocketPair } from './memory-socket.js';

type S = { id: number; resume(): void };

const fakeTimers: MuxTimers = {
  now: () => Date.now(),
  schedule: (fn) => setImmediate(fn),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function endpoint(socket: MemorySocket, options: Partial<MuxEndpointOptions<S>> = {}) {
  const frames: Frame[] = [];
  const closed: Array<[number, string, number[]]> = [];
  const mux: MuxEndpoint<S> = createMuxEndpoint<S>({
    socket,
    timers: fakeTimers,
    opening: 'HELLO',
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 3000,
    handler: {
      onFrame: (f) => {
        frames.push(f);
        if (f.type === 'HELLO' || f.type === 'WELCOME') mux.enter('ready');
      },
      onFrameError: (err) => String(err),
      onClosed: (code, reason, streams) => closed.push([code, reason, streams.map((s) => s.id)]),
    },
    ...options,
  });
  return { mux, frames, closed };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MuxEndpoint: heartbeats', () => {
  it('pings once per interval from the first ping on, and a peer that pongs stays', async () => {
    const [local] = memorySocketPair();
    const t0 = Date.now();
    const { mux } = endpoint(local, { firstPingAt: t0 + 400 });
    const dues: string[] = [];
    for (let t = 0; t <= 2500; t += 100) {
      vi.setSystemTime(t0 + t);
      await settle();
      const due = mux.heartbeat(Date.now());
      if (due !== 'none') dues.push(`${t}:${due}`);
    }
    expect(dues).toEqual(['400:ping', '1400:ping', '2400:ping']);
    expect(local.pings).toBe(3);
    // the pong of the last ping came back: the peer counts as seen after it
    expect(mux.lastSeen).toBeGreaterThanOrEqual(t0 + 2400);
  });

  it('says drop once a frozen peer was silent past the timeout, and terminate ends it', async () => {
    const [local, peer] = memorySocketPair();
    const { mux, closed } = endpoint(local);
    const t0 = Date.now();
    peer.frozen = true;
    let dropAt = -1;
    for (let t = 0; t <= 5000 && dropAt < 0; t += 100) {
      vi.setSystemTime(t0 + t);
      if (mux.heartbeat(Date.now()) === 'drop') dropAt = t;
    }
    expect(dropAt).toBe(3100);
    mux.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    expect(local.terminated).toBe(true);
    expect(closed).toEqual([[CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', []]]);
  });

  it('pings at every check with heartbeatMs 0 (the agent ticks at its ping interval)', () => {
    const [local] = memorySocketPair();
    const { mux } = endpoint(local, { heartbeatMs: 0, opening: 'WELCOME' });
    mux.heartbeat(Date.now());
    mux.heartbeat(Date.now());
    expect(local.pings).toBe(2);
  });
});

describe('MuxEndpoint: close', () => {
  it('ends the role at once, and drops a peer that never finishes the close handshake', async () => {
    const [local, peer] = memorySocketPair();
    peer.frozen = true;
    const { mux, closed } = endpoint(local, { closeTimeoutMs: 2000 });
    mux.streams.open(1, { id: 1, resume() {} });
    mux.close(CloseCode.NORMAL, 'bye');
    mux.close(CloseCode.PROTOCOL_ERROR, 'again'); // idempotent
    expect(local.closedWith).toEqual({ code: CloseCode.NORMAL, reason: 'bye' });
    expect(closed).toEqual([[CloseCode.NORMAL, 'bye', [1]]]);
    mux.send(encodeFrame({ type: 'CREDIT', streamId: 0, count: 1 }));
    expect(local.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1999);
    expect(local.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(local.terminated).toBe(true);
    expect(closed).toHaveLength(1);
  });

  it('clears the terminate deadline once the handshake completes', async () => {
    const [local] = memorySocketPair();
    const { mux } = endpoint(local);
    mux.close(CloseCode.NORMAL, 'bye');
    await settle();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(local.terminated).toBe(false);
  });

  it('cuts a reason above 123 bytes, as WebSocket close frames require', () => {
    const [local] = memorySocketPair();
    const { mux } = endpoint(local);
    mux.close(CloseCode.PROTOCOL_ERROR, 'x'.repeat(300));
    expect(new TextEncoder().encode(local.closedWith?.reason).byteLength).toBeLessThanOrEqual(123);
  });

  it('abandons its streams when the socket closes under it, once', async () => {
    const [local] = memorySocketPair();
    const { mux, closed } = endpoint(local);
    mux.streams.open(1, { id: 1, resume() {} });
    mux.streams.open(2, { id: 2, resume() {} });
    local.drop(1006, '');
    await settle();
    expect(mux.state).toBe('closed');
    expect(closed).toEqual([[1006, '', [1, 2]]]);
    mux.abandon(1006, 'again');
    expect(closed).toHaveLength(1);
    local.deliver(encodeFrame({ type: 'CREDIT', streamId: 0, count: 1 }));
    expect(closed).toHaveLength(1);
  });
});

describe('MuxEndpoint: two ends over one socket pair', () => {
  it('a handshake each way, then frames both ways, then a close both ends see', async () => {
    const [a, b] = memorySocketPair();
    const hub = endpoint(a, { opening: 'HELLO' });
    const agent = endpoint(b, { opening: 'WELCOME' });
    agent.mux.send(
      encodeFrame({
        type: 'HELLO',
        streamId: 0,
        minVersion: 1,
        maxVersion: 3,
        slots: 1,
        streamWindow: 65_536,
        name: 'n',
        agentId: '',
        upstream: '',
        software: '',
        hardware: '',
      }),
    );
    await settle();
    hub.mux.send(
      encodeFrame({
        type: 'WELCOME',
        streamId: 0,
        version: 3,
        streamWindow: 65_536,
        heartbeatMs: 1,
        agentId: 'x',
      }),
    );
    await settle();
    expect([hub.mux.state, agent.mux.state]).toEqual(['ready', 'ready']);
    hub.mux.close(CloseCode.HUB_SHUTDOWN, 'hub shutting down');
    await settle();
    expect(agent.closed).toEqual([[CloseCode.HUB_SHUTDOWN, 'hub shutting down', []]]);
    expect(hub.closed).toHaveLength(1);
  });
});

describe('createMuxEndpoint', () => {
  it('names the option it refuses', () => {
    const [local] = memorySocketPair();
    const base = {
      socket: local,
      timers: fakeTimers,
      opening: 'HELLO' as const,
      heartbeatMs: 1,
      heartbeatTimeoutMs: 1,
      handler: { onFrame() {}, onFrameError: () => '', onClosed() {} },
    };
    const bad = (o: object) => () => createMuxEndpoint<S>({ ...base, ...o } as MuxEndpointOptions<S>);
    expect(bad({ socket: {} })).toThrow(new TypeError('options.socket.listen must be a function'));
    expect(bad({ timers: { ...fakeTimers, now: 1 } })).toThrow(/options\.timers\.now/);
    expect(bad({ handler: {} })).toThrow(/options\.handler\.onFrame/);
    expect(bad({ opening: 'DATA' })).toThrow(/options\.opening/);
    expect(bad({ heartbeatMs: -1 })).toThrow(
      new RangeError('options.heartbeatMs must be a finite number >= 0'),
    );
    expect(bad({ heartbeatTimeoutMs: 0 })).toThrow(/options\.heartbeatTimeoutMs/);
    expect(bad({ closeTimeoutMs: Number.NaN })).toThrow(/options\.closeTimeoutMs/);
    expect(bad({ firstPingAt: Number.POSITIVE_INFINITY })).toThrow(/options\.firstPingAt/);
  });
});
