import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createPromSignal } from '../../src/shaping/index.js';

type Answer = (query: string, res: ServerResponse) => void;

/** A tiny Prometheus look-alike on 127.0.0.1:0: `answer` decides each reply. */
async function startFakePrometheus(answer: Answer) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/query') {
      res.writeHead(404).end();
      return;
    }
    const q = url.searchParams.get('query') ?? '';
    seen.push(q);
    answer(q, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const vector = (v: string) =>
  JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: {}, value: [1, v] }] },
  });

const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const d of disposers.splice(0)) await d();
});

describe('createPromSignal against a local Prometheus look-alike', () => {
  test('factor is 1 below warn and eases to minFactor at emergency', async () => {
    const values: Record<string, string> = { load: '0.5', queue: '10' };
    await using prom = await startFakePrometheus((q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(vector(values[q]!));
    });
    const signal = createPromSignal({
      url: prom.url,
      queries: [
        { query: 'load', warn: 0.8, emergency: 1.0 },
        { query: 'queue', warn: 100, emergency: 200 },
      ],
      minFactor: 0.2,
      now: () => 42,
    });
    disposers.push(() => signal.close());
    const changes: number[] = [];
    signal.onChange((f) => changes.push(f));
    await signal.evaluate();
    expect(signal.factor).toBe(1);
    expect(prom.seen.sort()).toEqual(['load', 'queue']);
    values.queue = '150'; // halfway: 1 - 0.8 * 0.25
    await signal.evaluate();
    expect(signal.factor).toBeCloseTo(0.8);
    values.load = '1.2'; // past emergency on the other query: the smallest wins
    await signal.evaluate();
    expect(signal.factor).toBe(0.2);
    expect(changes).toEqual([0.8, 0.2]);
    expect(signal.stats()).toMatchObject({ errors: 0, lastSuccessAt: 42, values: [1.2, 150] });
  });

  test('an HTTP error or a timeout keeps the last value and counts an error', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    await using prom = await startFakePrometheus((_q, res) => {
      if (mode === 'ok') res.writeHead(200).end(vector('150'));
      else if (mode === 'fail') res.writeHead(500).end('boom');
      // 'hang': never answers; the signal's own timeout must end the query
    });
    const signal = createPromSignal({
      url: prom.url,
      queries: [{ query: 'q', warn: 100, emergency: 200 }],
      timeoutMs: 100,
      now: () => 0,
    });
    disposers.push(() => signal.close());
    await signal.evaluate();
    const before = signal.factor;
    expect(before).toBeLessThan(1);
    mode = 'fail';
    await signal.evaluate();
    expect(signal.factor).toBe(before);
    expect(signal.stats().errors).toBe(1);
    mode = 'hang';
    await signal.evaluate();
    expect(signal.factor).toBe(before);
    expect(signal.stats().errors).toBe(2);
  });

  test('a lower-is-worse query (emergency below warn), an empty vector, and junk', async () => {
    let body = vector('5');
    await using prom = await startFakePrometheus((_q, res) => res.writeHead(200).end(body));
    const signal = createPromSignal({
      url: prom.url,
      queries: [{ query: 'free_gb', warn: 10, emergency: 2 }],
      minFactor: 0.1,
      now: () => 0,
    });
    disposers.push(() => signal.close());
    await signal.evaluate();
    expect(signal.factor).toBeCloseTo(1 - 0.9 * (5 / 8) ** 2);
    body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } });
    await signal.evaluate();
    expect(signal.factor).toBe(1);
    body = '{"status":"error"}';
    await signal.evaluate();
    expect(signal.stats().errors).toBe(1);
  });

  test('start() evaluates at once and on the interval; close() stops it and is idempotent', async () => {
    // Only the interval is faked; fetch and the server run for real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let answered = 0;
    await using prom = await startFakePrometheus((_q, res) => {
      answered++;
      res.writeHead(200).end(vector('1'));
    });
    const signal = createPromSignal({
      url: prom.url,
      queries: [{ query: 'q', warn: 10, emergency: 20 }],
      intervalMs: 1000,
      now: () => 0,
    });
    signal.start();
    await expect.poll(() => answered).toBe(1);
    vi.advanceTimersByTime(1000);
    await expect.poll(() => answered).toBe(2);
    expect(vi.getTimerCount()).toBe(1);
    const closing = signal.close();
    expect(signal.close()).toBe(closing);
    await closing;
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    await signal.evaluate(); // a last explicit run still works and proves nothing else was queued
    expect(answered).toBe(3);
  });

  test('injected timers drive the interval and the query timeout (no global timer is armed)', async () => {
    const armed: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const timers = {
      set: (fn: () => void, ms: number) => {
        const t = { fn, ms, cleared: false };
        armed.push(t);
        return t;
      },
      clear: (t: unknown) => {
        if (t) (t as { cleared: boolean }).cleared = true;
      },
    };
    let answered = 0;
    await using prom = await startFakePrometheus((_q, res) => {
      answered++;
      res.writeHead(200).end(vector('1'));
    });
    const signal = createPromSignal({
      url: prom.url,
      queries: [{ query: 'q', warn: 10, emergency: 20 }],
      intervalMs: 1000,
      timeoutMs: 700,
      now: () => 0,
      timers,
    });
    signal.start();
    await expect.poll(() => answered).toBe(1);
    // the interval, and the first query's timeout (cleared once it answered)
    expect(armed.map((t) => t.ms).sort()).toEqual([1000, 700].sort());
    await expect.poll(() => armed.find((t) => t.ms === 700)?.cleared).toBe(true);
    const tick = armed.find((t) => t.ms === 1000)!;
    tick.fn(); // the interval passes: re-armed, and the queries run again
    await expect.poll(() => answered).toBe(2);
    expect(armed.filter((t) => t.ms === 1000)).toHaveLength(2);
    await signal.close();
    expect(armed.filter((t) => t.ms === 1000).at(-1)!.cleared).toBe(true);
  });

  test('validates options naming them', () => {
    const base = {
      url: 'http://127.0.0.1:9',
      queries: [{ query: 'q', warn: 1, emergency: 2 }],
      now: () => 0,
    };
    expect(() => createPromSignal({ ...base, url: 'nope' })).toThrow(/url must be/);
    expect(() => createPromSignal({ ...base, queries: [] })).toThrow(/queries must be a non-empty array/);
    expect(() => createPromSignal({ ...base, queries: [{ query: 'q', warn: 1, emergency: 1 }] })).toThrow(
      /queries\[0\].emergency must differ from warn/,
    );
    expect(() => createPromSignal({ ...base, timeoutMs: 0 })).toThrow(/timeoutMs must be >= 1/);
  });
});
