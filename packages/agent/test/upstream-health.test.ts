import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { decodeFrame, encodeFrame, type Frame, ResetCode } from '@slime/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { httpProbe, tcpProbe, upstreamProbe } from '../src/health-probe.js';
import { createAgent } from '../src/index.js';
import { createAgentMetrics } from '../src/metrics.js';
import { upstreamTarget } from '../src/options.js';
import { SlotPool } from '../src/slot-pool.js';
import { isConnectFailure } from '../src/upstream-errors.js';
import { probeDelay, UpstreamHealth, type UpstreamHealthOptions } from '../src/upstream-health.js';

/** A hand-driven clock: timers run only when the test advances it. */
class FakeTimers {
  now = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  setTimer = (fn: () => void, ms: number): number => {
    const id = this.#next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };

  clearTimer = (id: unknown): void => {
    this.timers.delete(id as number);
  };

  /** Delays of the pending timers, soonest first. */
  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Moves the clock forward, running every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await flush();
    }
    this.now = end;
    await flush();
  }
}

/** Lets settled promises run their callbacks. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A probe the test answers by hand. */
class FakeProbe {
  calls: Array<{ signal: AbortSignal; resolve: () => void; reject: (e: Error) => void }> = [];
  readonly probe = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ signal, resolve, reject });
    });

  get last() {
    const c = this.calls.at(-1);
    if (!c) throw new Error('no probe ran');
    return c;
  }
}

function setup(overrides: Partial<UpstreamHealthOptions> = {}) {
  const timers = new FakeTimers();
  const probe = new FakeProbe();
  const changes: Array<[boolean, string]> = [];
  const failed: Array<[string, number, number]> = [];
  const health = new UpstreamHealth({
    probe: probe.probe,
    intervalMs: 1000,
    maxIntervalMs: 8000,
    probeTimeoutMs: 500,
    random: () => 0.5,
    now: () => timers.now,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    onChange: (h, r) => changes.push([h, r]),
    onProbeFailed: (r, n, d) => failed.push([r, n, d]),
    ...overrides,
  });
  return { timers, probe, changes, failed, health };
}

describe('probeDelay', () => {
  it('doubles per failed probe up to the cap, jittered within [half, whole)', () => {
    const lo = () => 0;
    const hi = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6].map((n) => probeDelay(n, 1000, 8000, hi))).toEqual([
      999, 1999, 3999, 7999, 7999, 7999,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => probeDelay(n, 1000, 8000, lo))).toEqual([500, 1000, 2000, 4000, 4000]);
    // a huge failure count neither overflows nor exceeds the cap
    expect(probeDelay(10_000, 2000, 30_000, hi)).toBeLessThan(30_000);
  });
});

describe('UpstreamHealth state machine (fake timers)', () => {
  it('starts healthy and runs no timer until a call fails', () => {
    const { timers, health, probe } = setup();
    expect(health.healthy).toBe(true);
    expect(health.reason).toBe('');
    expect(timers.pending).toEqual([]);
    expect(probe.calls).toHaveLength(0);
  });

  it('goes unhealthy at once, probes at once, backs off, and recovers on the first answer', async () => {
    const { timers, health, probe, changes, failed } = setup();
    timers.now = 100;
    health.markUnhealthy('upstream refused the connection');
    expect(health.healthy).toBe(false);
    expect(health.reason).toBe('upstream refused the connection');
    expect(health.since).toBe(100);
    expect(changes).toEqual([[false, 'upstream refused the connection']]);
    // the first probe runs at once
    expect(timers.pending).toEqual([0]);
    await timers.advance(0);
    expect(probe.calls).toHaveLength(1);

    // failures: waits of 750, 1500, 3000, 6000, 6000 (random 0.5: three quarters of 1s, 2s, 4s, 8s)
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      probe.last.reject(new Error('upstream refused the connection'));
      await flush();
      expect(timers.pending.filter((d) => d > 0)).toHaveLength(1);
      const wait = timers.pending.at(-1)!;
      waits.push(wait);
      await timers.advance(wait - 1);
      expect(probe.calls).toHaveLength(i + 1);
      await timers.advance(1);
      expect(probe.calls).toHaveLength(i + 2);
    }
    expect(waits).toEqual([750, 1500, 3000, 6000, 6000]);
    expect(health.failures).toBe(5);
    expect(failed.map(([, n, d]) => [n, d])).toEqual([
      [1, 750],
      [2, 1500],
      [3, 3000],
      [4, 6000],
      [5, 6000],
    ]);
    expect(changes).toHaveLength(1);

    probe.last.resolve();
    await flush();
    expect(health.healthy).toBe(true);
    expect(health.reason).toBe('');
    expect(health.failures).toBe(0);
    expect(changes).toEqual([
      [false, 'upstream refused the connection'],
      [true, ''],
    ]);
    // healthy: nothing left running
    expect(timers.pending).toEqual([]);
    await timers.advance(60_000);
    expect(probe.calls).toHaveLength(6);
  });

  it('ignores further failures while unhealthy: one transition, one probe at a time', async () => {
    const { timers, health, probe, changes } = setup();
    health.markUnhealthy('a');
    health.markUnhealthy('b');
    await timers.advance(0);
    health.markUnhealthy('c');
    expect(changes).toEqual([[false, 'a']]);
    expect(probe.calls).toHaveLength(1);
    expect(health.reason).toBe('a');
    // only the probe's own timeout is pending
    expect(timers.pending).toEqual([500]);
  });

  it('a probe that hangs fails at its timeout and is aborted; the next one follows the backoff', async () => {
    const { timers, health, probe, failed } = setup();
    health.markUnhealthy('connect timeout');
    await timers.advance(0);
    const first = probe.last;
    await timers.advance(499);
    expect(first.signal.aborted).toBe(false);
    await timers.advance(1);
    expect(first.signal.aborted).toBe(true);
    expect(failed[0]?.[0]).toMatch(/longer than 500 ms/);
    // a late answer from the aborted probe changes nothing
    first.resolve();
    await flush();
    expect(health.healthy).toBe(false);
    await timers.advance(750);
    expect(probe.calls).toHaveLength(2);
    probe.last.resolve();
    await flush();
    expect(health.healthy).toBe(true);
  });

  it('a probe that throws synchronously counts as a failed probe', async () => {
    const { timers, health, failed } = setup({
      probe: () => {
        throw new Error('boom');
      },
    });
    health.markUnhealthy('x');
    await timers.advance(0);
    expect(failed).toEqual([['boom', 1, 750]]);
    expect(health.healthy).toBe(false);
  });

  it('can go unhealthy again after recovering, with the backoff starting over', async () => {
    const { timers, health, probe, changes } = setup();
    health.markUnhealthy('one');
    await timers.advance(0);
    probe.last.reject(new Error('no'));
    await flush();
    await timers.advance(750);
    expect(probe.calls).toHaveLength(2);
    probe.last.resolve();
    await flush();
    health.markUnhealthy('two');
    await timers.advance(0);
    probe.last.reject(new Error('no'));
    await flush();
    expect(timers.pending).toEqual([750]);
    expect(changes.map(([h]) => h)).toEqual([false, true, false]);
  });

  it('close() clears every timer, aborts a running probe and reports nothing more', async () => {
    const { timers, health, probe, changes } = setup();
    health.markUnhealthy('x');
    await timers.advance(0);
    expect(timers.pending.length).toBeGreaterThan(0);
    health.close();
    expect(timers.pending).toEqual([]);
    expect(probe.last.signal.aborted).toBe(true);
    probe.last.resolve();
    await flush();
    expect(changes).toHaveLength(1);
    health.close();
    health.markUnhealthy('after close');
    expect(timers.pending).toEqual([]);
  });

  it('validates its intervals', () => {
    expect(() => setup({ intervalMs: 0 })).toThrow(RangeError);
    expect(() => setup({ maxIntervalMs: 1.5 })).toThrow(RangeError);
    expect(() => setup({ intervalMs: 5000, maxIntervalMs: 1000 })).toThrow(/maxIntervalMs/);
  });
});

describe('SlotPool.withdraw', () => {
  it('grants nothing and takes no slot while withdrawn; offer() tops the hubs up again', () => {
    const pool = new SlotPool(2);
    const link = {
      accepting: true,
      held: 0,
      paused: false,
      running: 0,
      credit(n: number) {
        this.held += n;
        this.paused = false;
      },
    };
    pool.attach(link);
    pool.withdraw();
    expect(pool.withdrawn).toBe(true);
    pool.rebalance();
    expect(link.held).toBe(0);
    expect(pool.tryAcquire()).toBe(false);
    pool.offer();
    expect(pool.withdrawn).toBe(false);
    expect(link.held).toBe(2);
    expect(pool.tryAcquire()).toBe(true);
  });
});

describe('upstream health metrics', () => {
  it('count transitions by direction and gauge the healthy upstreams', async () => {
    const m = createAgentMetrics({ defaultMetrics: false });
    const a = Object.assign(new EventEmitter(), { activeRequests: 0 });
    const b = Object.assign(new EventEmitter(), { activeRequests: 0, upstreamHealthy: true });
    const unbindA = m.bind(a);
    m.bind(b);
    const read = async () => {
      const text = await m.metrics();
      const line = (name: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${name} `))
            ?.split(' ')[1],
        );
      return {
        healthy: line('slime_agent_upstream_healthy'),
        up: line('slime_agent_upstream_health_transitions_total{to="healthy"}'),
        down: line('slime_agent_upstream_health_transitions_total{to="unhealthy"}'),
      };
    };
    expect(await read()).toEqual({ healthy: 2, up: 0, down: 0 });
    a.emit('upstreamUnhealthy', 'upstream refused the connection');
    b.upstreamHealthy = false;
    expect(await read()).toEqual({ healthy: 0, up: 0, down: 1 });
    a.emit('upstreamHealthy');
    expect(await read()).toEqual({ healthy: 1, up: 1, down: 1 });
    unbindA();
    expect(a.listenerCount('upstreamHealthy')).toBe(0);
    expect((await read()).healthy).toBe(0);
  });
});

describe('isConnectFailure', () => {
  it('is true for refused, reset, unreachable and connect timeouts; false for the rest', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ENOTFOUND',
      'EHOSTUNREACH',
      'UND_ERR_CONNECT_TIMEOUT',
    ]) {
      expect(isConnectFailure(Object.assign(new Error(code), { code })), code).toBe(true);
    }
    expect(isConnectFailure(new Error('x', { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
    for (const code of [
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'UND_ERR_SOCKET',
      'HPE_INVALID_CONSTANT',
    ]) {
      expect(isConnectFailure(Object.assign(new Error(code), { code })), code).toBe(false);
    }
    expect(isConnectFailure(undefined)).toBe(false);
  });
});

// ---- real sockets ----

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server | ReturnType<typeof createTcpServer>, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('health probes', () => {
  const signal = () => AbortSignal.timeout(5000);

  it('tcpProbe resolves when the port accepts and rejects in our words when it refuses', async () => {
    const port = await listen(createTcpServer((socket) => socket.destroy()));
    await expect(tcpProbe(upstreamTarget(`127.0.0.1:${port}`))(signal())).resolves.toBeUndefined();
    const dead = await closedPort();
    await expect(tcpProbe(upstreamTarget(`127.0.0.1:${dead}`))(signal())).rejects.toThrow(
      'upstream refused the connection',
    );
  });

  it('httpProbe: any status below 500 is an answer; 5xx, refusals and aborts are not', async () => {
    const seen: Array<{ url: string | undefined; headers: IncomingHttpHeaders }> = [];
    const port = await listen(
      createServer((req, res) => {
        seen.push({ url: req.url, headers: req.headers });
        res.statusCode = Number(req.url?.slice(1) ?? 200);
        if (req.url === '/hang') return;
        res.end('body');
      }),
    );
    const target = upstreamTarget(`http://user:pw@127.0.0.1:${port}/prefix`);
    await expect(httpProbe(target, '/200')(signal())).resolves.toBeUndefined();
    await expect(httpProbe(target, '/404')(signal())).resolves.toBeUndefined();
    await expect(httpProbe(target, '/503')(signal())).rejects.toThrow('health check /503 answered 503');
    // the path is taken on the origin, with the upstream's userinfo as Basic auth
    expect(seen[0]?.url).toBe('/200');
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    expect(seen[0]?.headers.host).toBe(`127.0.0.1:${port}`);
    const abort = new AbortController();
    const hanging = httpProbe(target, '/hang')(abort.signal);
    // abort once the upstream holds the request
    await vi.waitFor(() => expect(seen.some((s) => s.url === '/hang')).toBe(true));
    abort.abort();
    await expect(hanging).rejects.toThrow();
    const dead = await closedPort();
    await expect(httpProbe(upstreamTarget(`127.0.0.1:${dead}`), '/health')(signal())).rejects.toThrow(
      'upstream refused the connection',
    );
    expect(upstreamProbe(target, undefined)).not.toBe(upstreamProbe(target, '/x'));
  });
});

/** A stand-in hub: answers HELLO with WELCOME at `version` and records every frame. */
async function fakeHub(version: number) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  let socket: import('ws').WebSocket | undefined;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => {
      const frame = decodeFrame(data as Buffer);
      if (frame.type === 'HELLO') {
        ws.send(
          encodeFrame({
            type: 'WELCOME',
            streamId: 0,
            version,
            streamWindow: 65536,
            heartbeatMs: 5000,
            agentId: 'a#1',
          }),
        );
        return;
      }
      frames.push(frame);
      for (const w of waiters.splice(0)) w();
    });
  });
  const next = async (): Promise<Frame> => {
    for (;;) {
      const f = frames.shift();
      if (f) return f;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  let streamId = 0;
  const request = (path = '/') => {
    streamId++;
    socket?.send(
      encodeFrame({ type: 'REQUEST', streamId, endStream: true, method: 'GET', target: path, headers: [] }),
    );
    return streamId;
  };
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    next,
    request,
    queued: () => frames.length,
    drop: () => {
      socket?.terminate();
      streamId = 0;
    },
  };
}

describe('an agent whose upstream is down (against a stand-in hub)', () => {
  it('version 2: STATUS before the failed RESET, refuses while down, STATUS then CREDIT when back', async () => {
    const hub = await fakeHub(2);
    const port = await closedPort();
    let calls = 0;
    const agent = createAgent({
      token: 't',
      hub: hub.url,
      upstream: `127.0.0.1:${port}`,
      numWorker: 2,
      healthIntervalMs: 40,
      healthMaxIntervalMs: 40,
      onCallResult: () => calls++,
    });
    cleanups.push(() => agent.destroy());
    const events: string[] = [];
    agent.on('upstreamUnhealthy', (reason: string) => events.push(`unhealthy: ${reason}`));
    agent.on('upstreamHealthy', () => events.push('healthy'));
    agent.start();
    await agent.ready();
    expect(await hub.next()).toEqual({ type: 'CREDIT', streamId: 0, count: 2 });

    const first = hub.request('/first');
    expect(await hub.next()).toEqual({
      type: 'STATUS',
      streamId: 0,
      upstreamHealthy: false,
      reason: 'upstream refused the connection',
    });
    expect(await hub.next()).toMatchObject({
      type: 'RESET',
      streamId: first,
      code: ResetCode.UPSTREAM_CONNECT,
    });
    expect(agent.upstreamHealthy).toBe(false);
    expect(events).toEqual(['unhealthy: upstream refused the connection']);

    // the hub still holds credits; what it sends is refused without touching the upstream
    const second = hub.request('/second');
    expect(await hub.next()).toEqual({
      type: 'RESET',
      streamId: second,
      code: ResetCode.REFUSED,
      message: 'upstream unhealthy: upstream refused the connection',
    });
    expect(calls).toBe(1);

    // the upstream comes back on the same port: a probe finds it, STATUS, then CREDIT lifts the pause
    const back = createServer((req, res) => res.end(`back ${req.url}`));
    await listen(back, port);
    expect(await hub.next()).toEqual({ type: 'STATUS', streamId: 0, upstreamHealthy: true, reason: '' });
    expect(await hub.next()).toMatchObject({ type: 'CREDIT' });
    expect(agent.upstreamHealthy).toBe(true);
    expect(events).toEqual(['unhealthy: upstream refused the connection', 'healthy']);
    const third = hub.request('/third');
    expect(await hub.next()).toMatchObject({ type: 'RESPONSE', streamId: third, status: 200 });
  });

  it('version 1: no STATUS frame; the withdrawal shows only as refusals', async () => {
    const hub = await fakeHub(1);
    const port = await closedPort();
    const agent = createAgent({
      token: 't',
      hub: hub.url,
      upstream: `127.0.0.1:${port}`,
      healthIntervalMs: 10_000,
    });
    cleanups.push(() => agent.destroy());
    agent.start();
    await agent.ready();
    expect(await hub.next()).toMatchObject({ type: 'CREDIT', count: 1 });
    hub.request();
    expect(await hub.next()).toMatchObject({ type: 'RESET', code: ResetCode.UPSTREAM_CONNECT });
    hub.request();
    expect(await hub.next()).toMatchObject({ type: 'RESET', code: ResetCode.REFUSED });
    expect(agent.upstreamHealthy).toBe(false);
  });

  it('a connection made while the upstream is down gets STATUS instead of CREDIT', async () => {
    const hub = await fakeHub(2);
    const port = await closedPort();
    const agent = createAgent({
      token: 't',
      hub: hub.url,
      upstream: `127.0.0.1:${port}`,
      healthIntervalMs: 10_000,
      reconnectBaseMs: 10,
      reconnectMaxMs: 20,
    });
    cleanups.push(() => agent.destroy());
    agent.start();
    await agent.ready();
    expect(await hub.next()).toMatchObject({ type: 'CREDIT', count: 1 });
    hub.request();
    expect(await hub.next()).toMatchObject({ type: 'STATUS', upstreamHealthy: false });
    expect(await hub.next()).toMatchObject({ type: 'RESET', code: ResetCode.UPSTREAM_CONNECT });
    // the connection drops; the agent redials and says at once why it offers nothing
    const reconnected = once(agent, 'connected');
    hub.drop();
    await reconnected;
    expect(await hub.next()).toEqual({
      type: 'STATUS',
      streamId: 0,
      upstreamHealthy: false,
      reason: 'upstream refused the connection',
    });
    // nothing else follows: no CREDIT while the upstream is down. A REQUEST's refusal is the
    // barrier: frames leave in order, so a CREDIT sent before it would arrive first.
    const probe = hub.request('/after-reconnect');
    expect(await hub.next()).toMatchObject({ type: 'RESET', streamId: probe, code: ResetCode.REFUSED });
    expect(hub.queued()).toBe(0);
  });
});
