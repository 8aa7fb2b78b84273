import { CloseCode, type Frame, PROTOCOL_VERSION, ResetCode } from '@slime/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWs, realMuxTimers } from '../../../test/helpers/fake-web-socket.js';
import { Session, type SessionDeps } from '../src/session.js';
import type { StreamCall } from '../src/stream-call.js';

const timers = realMuxTimers;

/** A call that records what the session routes to it. */
function call(streamId: number) {
  const seen: string[] = [];
  const c: StreamCall = {
    streamId,
    start: () => seen.push('start'),
    onData: (d) => seen.push(`data ${d.byteLength}`),
    onEnd: () => seen.push('end'),
    onTrailers: () => seen.push('trailers'),
    onWindow: (n) => seen.push(`window ${n}`),
    onReset: () => seen.push('reset'),
    abandon: () => seen.push('abandon'),
    resume: () => seen.push('resume'),
  };
  return { c, seen };
}

function session(over: Partial<SessionDeps> = {}) {
  const ws = new FakeWs();
  const events: string[] = [];
  const calls = new Map<number, ReturnType<typeof call>>();
  let refuse: string | null = null;
  const s = new Session(ws, {
    hello: {
      slots: 2,
      streamWindow: 65_536,
      name: 'a',
      agentId: '',
      upstream: 'u',
      software: 't',
      hardware: '',
    },
    log: pino({ level: 'silent' }),
    now: () => Date.now(),
    timers,
    heartbeatTimeoutMs: 3000,
    startCall: (_s, frame) => {
      if (refuse !== null) return refuse;
      const made = call(frame.streamId);
      calls.set(frame.streamId, made);
      return made.c;
    },
    onWelcome: (_s, id) => events.push(`welcome ${id}`),
    onDrained: () => events.push('drained'),
    ...over,
  });
  return {
    ws,
    s,
    events,
    calls,
    refuseWith(why: string | null) {
      refuse = why;
    },
  };
}

const WELCOME: Frame = {
  type: 'WELCOME',
  streamId: 0,
  version: PROTOCOL_VERSION,
  streamWindow: 32_768,
  heartbeatMs: 1000,
  agentId: 'a#7',
};
const request = (streamId: number): Frame => ({
  type: 'REQUEST',
  streamId,
  endStream: true,
  method: 'GET',
  target: '/',
  headers: [],
});

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Session without a socket', () => {
  it('says HELLO, takes WELCOME and grants credits the hub holds', () => {
    const { ws, s, events } = session();
    expect(ws.sent[0]).toMatchObject({ type: 'HELLO', maxVersion: PROTOCOL_VERSION, slots: 2, name: 'a' });
    ws.frame(WELCOME);
    expect([s.ready, s.hubWindow, s.trailers, s.hubAgentId]).toEqual([true, 32_768, true, 'a#7']);
    expect(events).toEqual(['welcome a#7']);
    s.credit(2);
    expect(ws.sent.at(-1)).toEqual({ type: 'CREDIT', streamId: 0, count: 2 });
    expect(s.held).toBe(2);
  });

  it('starts calls, routes their frames, ignores late ones and returns the credit when they end', () => {
    const { ws, s, calls } = session();
    ws.frame(WELCOME);
    s.credit(2);
    ws.frame(request(1));
    ws.frame({ type: 'WINDOW', streamId: 1, increment: 5 });
    ws.frame({ type: 'DATA', streamId: 1, data: new Uint8Array(3) });
    expect(calls.get(1)?.seen).toEqual(['start', 'window 5', 'data 3']);
    expect([s.held, s.running]).toEqual([1, 1]);
    s.callEnded(calls.get(1)!.c);
    ws.frame({ type: 'RESET', streamId: 1, code: ResetCode.CANCEL, message: '' }); // late
    expect(calls.get(1)?.seen).toHaveLength(3);
    expect([s.held, s.running, s.state]).toEqual([2, 0, 'ready']);
  });

  it('refuses a REQUEST it cannot run: RESET REFUSED, credit spent, paused until the next CREDIT', () => {
    const t = session();
    t.ws.frame(WELCOME);
    t.s.credit(1);
    t.refuseWith('no free slot');
    t.ws.frame(request(1));
    expect(t.ws.sent.at(-1)).toEqual({
      type: 'RESET',
      streamId: 1,
      code: ResetCode.REFUSED,
      message: 'no free slot',
    });
    expect([t.s.held, t.s.paused]).toEqual([0, true]);
    t.s.credit(1);
    expect(t.s.paused).toBe(false);
  });

  it('closes 4000 on a frame for a stream never opened and on a reused stream id', () => {
    const a = session();
    a.ws.frame(WELCOME);
    a.ws.frame({ type: 'END', streamId: 4 });
    expect(a.ws.closedWith).toEqual([CloseCode.PROTOCOL_ERROR, 'END for unopened stream 4']);
    const b = session();
    b.ws.frame(WELCOME);
    b.ws.frame(request(3));
    b.ws.frame(request(3));
    expect(b.ws.closedWith?.[0]).toBe(CloseCode.PROTOCOL_ERROR);
    // the close abandons the calls at once: the hub has given up on them
    expect(b.calls.get(3)?.seen).toEqual(['start', 'abandon']);
  });

  it('drains after GOAWAY: refuses new REQUESTs and says drained once its calls are done', () => {
    const { ws, s, events, calls } = session();
    ws.frame(WELCOME);
    s.credit(2);
    ws.frame(request(1));
    ws.frame({ type: 'GOAWAY', streamId: 0, code: 0, message: 'bye' });
    ws.frame(request(2));
    expect(ws.sent.at(-1)).toMatchObject({ type: 'RESET', streamId: 2, code: ResetCode.REFUSED });
    expect(events).toEqual(['welcome a#7']);
    s.callEnded(calls.get(1)!.c);
    expect(events).toEqual(['welcome a#7', 'drained']);
  });

  it('pings at every tick and gives up on a silent hub, abandoning its calls', () => {
    const { ws, s, calls } = session();
    ws.frame(WELCOME);
    ws.frame(request(1));
    expect(s.tick(Date.now())).toBe(true);
    vi.advanceTimersByTime(3001);
    expect(s.tick(Date.now())).toBe(false);
    expect(ws.pings).toBe(1);
    expect(ws.terminated).toBe(true);
    expect(calls.get(1)?.seen).toEqual(['start', 'abandon']);
    s.lost(); // the socket's close comes later: nothing more happens
    expect(calls.get(1)?.seen).toEqual(['start', 'abandon']);
  });
});
