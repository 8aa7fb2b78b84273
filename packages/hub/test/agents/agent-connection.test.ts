import { CloseCode, type Frame, PROTOCOL_VERSION, ResetCode } from '@slime/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWs, realMuxTimers } from '../../../../test/helpers/fake-web-socket.js';
import { AgentConnection, type ConnectionOptions } from '../../src/agents/agent-connection.js';

const timers = realMuxTimers;

function connection(over: Partial<ConnectionOptions> = {}) {
  const ws = new FakeWs();
  const events: string[] = [];
  const conn = new AgentConnection(ws, {
    id: 'a#1',
    claims: { sub: 'a', jti: 'j', iat: 0, scopes: ['s'] },
    remoteAddress: '127.0.0.1',
    hubWindow: 65_536,
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 3000,
    helloTimeoutMs: 500,
    streamIdleTimeoutMs: 10_000,
    now: () => Date.now(),
    timers,
    log: pino({ level: 'silent' }),
    onCapacity: () => events.push('capacity'),
    onClosed: (_c, code, reason) => events.push(`closed ${code} ${reason}`),
    ...over,
  });
  return { ws, conn, events };
}

const HELLO: Frame = {
  type: 'HELLO',
  streamId: 0,
  minVersion: 1,
  maxVersion: PROTOCOL_VERSION,
  slots: 2,
  streamWindow: 65_536,
  name: 'a',
  agentId: '',
  upstream: 'up:80',
  software: 'test',
  hardware: '{"cpus":2}',
};

function ready(over: Partial<ConnectionOptions> = {}) {
  const c = connection(over);
  c.ws.frame(HELLO);
  c.ws.frame({ type: 'CREDIT', streamId: 0, count: 2 });
  return c;
}

const get = {
  method: 'GET',
  target: '/x',
  headers: [] as Array<[string, string]>,
  body: null,
  onBodyRead() {},
};

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AgentConnection without a socket', () => {
  it('answers HELLO with WELCOME, takes credits and reports itself', () => {
    const { ws, conn, events } = ready();
    expect(ws.sent[0]).toMatchObject({ type: 'WELCOME', version: PROTOCOL_VERSION, agentId: 'a#1' });
    expect(conn.state).toBe('ready');
    expect(conn.accepting).toBe(true);
    expect(conn.credits).toBe(2);
    expect(events).toEqual(['capacity']);
    expect(conn.serves('s', '/any')).toBe(true);
    expect(conn.serves('other', '/any')).toBe(false);
    expect(conn.snapshot()).toMatchObject({
      id: 'a#1',
      slots: 2,
      credits: 2,
      hardware: { cpus: 2 },
      scopes: ['s'],
      state: 'ready',
    });
  });

  it('opens a stream with REQUEST, spends a credit and gets it back at the stream end', async () => {
    const { ws, conn, events } = ready();
    const stream = conn.openStream(get);
    expect(ws.sent.at(-1)).toMatchObject({ type: 'REQUEST', streamId: 1, endStream: true, target: '/x' });
    expect([conn.credits, conn.inFlight]).toEqual([1, 1]);
    ws.frame({ type: 'RESPONSE', streamId: 1, endStream: true, status: 204, headers: [] });
    expect((await (stream as { response: Promise<{ status: number }> }).response).status).toBe(204);
    expect([conn.credits, conn.inFlight]).toEqual([2, 0]);
    expect(events).toEqual(['capacity', 'capacity']);
  });

  it('ignores late frames for a closed stream and closes 4000 on a stream it never opened', () => {
    const { ws, conn, events } = ready();
    conn.openStream(get);
    ws.frame({ type: 'RESPONSE', streamId: 1, endStream: true, status: 200, headers: [] });
    ws.frame({ type: 'WINDOW', streamId: 1, increment: 10 }); // late
    expect(conn.state).toBe('ready');
    ws.frame({ type: 'END', streamId: 2 });
    expect(ws.closedWith).toEqual([CloseCode.PROTOCOL_ERROR, 'END for unopened stream 2']);
    expect(events.at(-1)).toBe(`closed ${CloseCode.PROTOCOL_ERROR} END for unopened stream 2`);
  });

  it('refuses frames before HELLO, and agents that never send it', () => {
    const early = connection();
    early.ws.frame({ type: 'CREDIT', streamId: 0, count: 1 });
    expect(early.ws.closedWith).toEqual([CloseCode.PROTOCOL_ERROR, 'CREDIT before HELLO']);
    const silent = connection();
    vi.advanceTimersByTime(501);
    silent.conn.tick(Date.now());
    expect(silent.ws.closedWith).toEqual([CloseCode.HELLO_TIMEOUT, 'no HELLO in time']);
  });

  it('pings on its phase, drops a silent agent and fails its streams', async () => {
    const { ws, conn, events } = ready();
    const stream = conn.openStream(get) as { response: Promise<unknown> };
    const failed = stream.response.catch((err: Error) => err.message);
    for (let i = 0; i < 35; i++) {
      vi.advanceTimersByTime(100);
      conn.tick(Date.now());
    }
    expect(ws.pings).toBeGreaterThanOrEqual(2);
    expect(ws.terminated).toBe(true);
    expect(conn.state).toBe('closed');
    expect(events.at(-1)).toBe(`closed ${CloseCode.HEARTBEAT_TIMEOUT} heartbeat timeout`);
    expect(await failed).toMatch(/heartbeat timeout/);
  });

  it('cancels a stream idle too long with RESET IDLE_TIMEOUT', () => {
    const { ws, conn } = ready({ heartbeatTimeoutMs: 60_000, streamIdleTimeoutMs: 1000 });
    const stream = conn.openStream(get) as { response: Promise<unknown> };
    stream.response.catch(() => {});
    vi.advanceTimersByTime(1001);
    conn.tick(Date.now());
    expect(ws.sent.at(-1)).toMatchObject({ type: 'RESET', streamId: 1, code: ResetCode.IDLE_TIMEOUT });
  });

  it('closes gracefully once, terminating a peer that never answers the close', async () => {
    const { ws, conn, events } = ready();
    conn.close(CloseCode.HUB_SHUTDOWN, 'bye');
    conn.close(CloseCode.HUB_SHUTDOWN, 'again');
    expect(ws.closedWith).toEqual([CloseCode.HUB_SHUTDOWN, 'bye']);
    expect(events.filter((e) => e.startsWith('closed'))).toHaveLength(1);
    expect(conn.accepting).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ws.terminated).toBe(true);
  });
});

describe('AgentConnection state made on first use (idle agents keep none)', () => {
  /** A hub logger whose lines are captured, with its `child` calls counted. */
  function hubLog() {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const child = vi.spyOn(log, 'child');
    return { log, lines, child };
  }

  it('logs the connected line with the agent binding and makes no child logger until a later line', () => {
    const { log, lines, child } = hubLog();
    const { ws, conn, events } = ready({ log, childLog: true });
    ws.frame({ type: 'STATUS', streamId: 0, upstreamHealthy: true, reason: '' });
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([
      expect.objectContaining({
        agent: 'a#1',
        name: 'a',
        slots: 2,
        upstream: 'up:80',
        msg: 'agent connected',
      }),
    ]);
    expect(conn.snapshot()).toMatchObject({
      upstreamHealthy: true,
      upstreamReason: '',
      framingViolations: 0,
    });

    // the first STATUS that changes something makes the health state and the child logger
    ws.frame({ type: 'STATUS', streamId: 0, upstreamHealthy: false, reason: 'down' });
    expect(child).toHaveBeenCalledTimes(1);
    expect(child).toHaveBeenCalledWith({ agent: 'a#1' });
    expect(conn.accepting).toBe(false);
    expect(lines.at(-1)).toMatchObject({
      agent: 'a#1',
      reason: 'down',
      msg: expect.stringMatching(/unhealthy/),
    });
    expect(conn.snapshot()).toMatchObject({ upstreamHealthy: false, upstreamReason: 'down' });
    ws.frame({ type: 'STATUS', streamId: 0, upstreamHealthy: true, reason: '' });
    expect(conn.accepting).toBe(true);
    expect(events).toEqual(['capacity', 'capacity']);
    conn.close(CloseCode.HUB_SHUTDOWN, 'bye');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.at(-1)).toMatchObject({ agent: 'a#1', msg: 'agent disconnected' });
  });

  it('gives the first stream of an idle connection its window budget, the same one for every later stream', async () => {
    const { ws, conn } = ready();
    const budget = conn.windowBudget;
    expect(budget.available).toBe(budget.cap);
    expect(conn.windowBudget).toBe(budget);
    for (const id of [1, 2]) {
      const stream = conn.openStream(get) as { response: Promise<{ status: number }> };
      ws.frame({ type: 'RESPONSE', streamId: id, endStream: true, status: 204, headers: [] });
      expect((await stream.response).status).toBe(204);
    }
    expect(conn.windowBudget).toBe(budget);
  });

  it('counts a framing violation on a connection that had no health state', () => {
    const { log, lines } = hubLog();
    const { conn } = ready({ log, childLog: true });
    const stream = conn.openStream(get);
    stream.cancel('test', ResetCode.CANCEL);
    conn.framingViolation(stream as never, 'too long');
    expect(conn.snapshot().framingViolations).toBe(1);
    expect(lines.at(-1)).toMatchObject({ agent: 'a#1', problem: 'too long' });
  });
});
