import type { IncomingMessage, ServerResponse } from 'node:http';
import { startDemoUpstream } from '@slime/cli';
import type { Shaper } from '@slime/hub';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { deferred, startAgent, startHub, startUpstream, type TestUpstream } from './helpers/harness.js';

// Issue #21: an upstream that throttles with a bare, instant 500. C requests at once in ~100 ms,
// and every request beyond C gets a 500 at once: no queue, so no latency warning first.
const C = 8;
const CLIFF = { capacity: C, serviceMs: 100, queue: 0, penalty: 0 };
const BLOCK = { 'slime-block': '1' };

/** The cliff upstream (the demo's /fragile without a queue), disposable. */
async function cliffUpstream() {
  const u = await startDemoUpstream({ fragile: CLIFF });
  return Object.assign(u, { [Symbol.asyncDispose]: () => u.close() });
}

/** A hub with `shaping` (a policy section), one agent in front of `upstream`, and metrics. */
async function hubFor(shaping: unknown, upstream: { url: string }) {
  const hub = await startHub({ policy: shaping === undefined ? {} : { shaping } });
  const { engine, metrics } = hub.hub;
  const shaper = () => (engine.section('shaping') as { shaper?: Shaper }).shaper!;
  // more workers than clients: only shaping stands between the clients and the upstream
  const agent = await startAgent(hub, upstream, { numWorker: 64 });
  return {
    url: hub.url,
    shaper,
    stats: () => shaper().stats()[0]!,
    metrics,
    async [Symbol.asyncDispose]() {
      await agent.agent.close();
      await hub.hub.close();
    },
  };
}

/** Closed-loop Slime-Block clients on /fragile until `ms` have passed; counts statuses. */
async function drive(url: string, clients: number, ms: number) {
  const statuses: Record<number, number> = {};
  const until = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const r = await request(`${url}/fragile`, { headers: BLOCK });
        await r.body.dump();
        statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const ok = statuses[200] ?? 0;
  const all = Object.values(statuses).reduce((a, b) => a + b, 0);
  return { statuses, ok, errors: statuses[500] ?? 0, all, rate: ok / seconds };
}

describe('a hard-cliff upstream at 3x its capacity, Slime-Block clients', () => {
  it('the plateau probe alone: at least 5x fewer 500s than probing every round trip (side by side)', async () => {
    await using every = await cliffUpstream();
    await using plateau = await cliffUpstream();
    const limiter = { mode: 'aimd', min: 1, max: 64, initial: C };
    await using a = await hubFor({ groups: [{ limiter: { ...limiter, cliffProbeMs: 0 } }] }, every);
    await using b = await hubFor({ groups: [{ limiter }] }, plateau); // default cliffProbeMs: 3 s
    // Both at once, so whatever else the machine does hits both alike.
    const [today, probe] = await Promise.all([drive(a.url, 3 * C, 3000), drive(b.url, 3 * C, 3000)]);
    console.log({ everyRoundTrip: today.statuses, plateau: probe.statuses, cliff: b.stats().cliffLimit });
    // Measured here: 20-35 500s probing every round trip, 1-3 with the plateau.
    expect(today.errors).toBeGreaterThanOrEqual(10);
    expect(probe.errors * 5).toBeLessThanOrEqual(today.errors);
    expect(b.stats().cliffLimit).toBeGreaterThanOrEqual(C);
    // (a slot is held until the client has the whole answer, so the hub may count a few more in
    // flight than the upstream holds: errors begin at C + 1, or a little above on a busy machine)
    expect(b.stats().cliffLimit).toBeLessThanOrEqual(C + 4);
    // the upstream's own count agrees: the 500s reached the clients as they were
    expect(plateau.fragile.stats().errors).toBe(probe.errors);
  }, 20_000);

  it('with retryThrottled: under 1% of the answers are 500s and goodput is at least 90% of capacity', async () => {
    await using upstream = await cliffUpstream();
    await using s = await hubFor(
      {
        groups: [
          {
            limiter: { mode: 'aimd', min: 1, max: 64, initial: C },
            retryThrottled: { on: [500, 503, 429], attempts: 2 },
          },
        ],
      },
      upstream,
    );
    // Capacity as this path gives it: exactly C clients, measured now, so a busy machine moves
    // both figures alike (C / 100 ms = 80 req/s on an idle one).
    const best = await drive(s.url, C, 1000);
    await drive(s.url, 3 * C, 500); // the limiter meets the cliff
    upstream.fragile.resetStats();
    const loaded = await drive(s.url, 3 * C, 3000);
    const { throttleRetries, throttleBoundMs } = s.stats();
    console.log({
      best: best.rate,
      loaded: loaded.rate,
      statuses: loaded.statuses,
      throttleRetries,
      throttleBoundMs,
    });
    expect(loaded.errors).toBeLessThan(loaded.all * 0.01);
    expect(loaded.rate).toBeGreaterThanOrEqual(0.9 * best.rate);
    // the throttles happened (at the upstream) but were signals, not results
    expect(throttleBoundMs).toBeGreaterThan(20);
    expect(upstream.fragile.stats().errors).toBeGreaterThanOrEqual(loaded.errors);
  }, 20_000);
});

// Successes take okMs so the learned "fast throttle" bound (half the 10th percentile, 125 ms) stays
// far above what an instant 500 costs through hub and agent, even on a loaded 2-core CI machine
// (at 120 ms, a 60 ms bound was crossed under load: the throttle passed through as a 500).
/** An upstream whose next answers the test scripts: `ok` after `okMs`, or one of the throttles. */
async function scriptedUpstream(okMs = 250) {
  const state = {
    mode: 'ok' as 'ok' | 'throttle' | 'throttle-once' | 'slow-500' | 'retry-after' | 'hold-throttle',
    retryAfter: '1',
    status: 503,
    /** Arrival of every request: method, x-n header, ms since start. */
    seen: [] as { method: string; n: string; at: number }[],
    release: deferred(),
  };
  const t0 = performance.now();
  const answer = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-length': '2', ...headers });
    res.end(status === 200 ? 'ok' : 'no');
  };
  const upstream: TestUpstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    state.seen.push({ method: req.method!, n: String(req.headers['x-n'] ?? ''), at: performance.now() - t0 });
    switch (state.mode) {
      case 'ok':
        return void setTimeout(() => answer(res, 200), okMs);
      case 'throttle':
        return answer(res, 500);
      case 'throttle-once':
        state.mode = 'ok';
        return answer(res, 500);
      case 'slow-500':
        return void setTimeout(() => answer(res, 500), 4 * okMs);
      case 'retry-after':
        state.mode = 'ok';
        return answer(res, state.status, { 'retry-after': state.retryAfter });
      case 'hold-throttle':
        state.mode = 'ok';
        return void state.release.promise.then(() => answer(res, 500));
    }
  });
  return { upstream, state, since: () => performance.now() - t0 };
}

/** `n` sequential successes, so the group learns what a real answer costs. */
async function warmUp(url: string, n = 8) {
  for (let i = 0; i < n; i++) {
    const r = await request(`${url}/warm`, { headers: BLOCK });
    await r.body.dump();
    expect(r.statusCode).toBe(200);
  }
}

const get = async (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) => {
  const t0 = performance.now();
  const r = await request(`${url}/x`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers ?? BLOCK,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const body = await r.body.text();
  return { status: r.statusCode, headers: r.headers, body, ms: performance.now() - t0 };
};

describe('retryThrottled: throttle answers are signals for clients that chose to wait', () => {
  const group = (retryThrottled: Record<string, unknown> = {}, limiter: Record<string, unknown> = {}) => ({
    groups: [
      {
        limiter: { mode: 'aimd', min: 1, max: 16, initial: 4, ...limiter },
        retryThrottled: { on: [500, 503, 429], attempts: 2, ...retryThrottled },
      },
    ],
  });

  it('a fast throttle is re-sent at most `attempts` times; the client gets the last answer, or the first good one', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor(group(), upstream);
    await warmUp(s.url);
    state.seen.length = 0;
    state.mode = 'throttle';
    const r = await get(s.url);
    expect(r.status).toBe(500);
    expect(state.seen).toHaveLength(3); // sent once, re-sent twice
    expect(s.stats().throttleRetries).toBe(2);
    expect(await s.metrics.metrics()).toMatch(/slime_shaping_throttle_retries_total\{group="_any"\} 2/);
    // A throttle, then the upstream has room again: the client only sees the 200.
    state.seen.length = 0;
    state.mode = 'throttle-once';
    const ok = await get(s.url);
    expect(ok.status).toBe(200);
    expect(state.seen).toHaveLength(2);
  });

  it('per-agent groups re-send too, and each agent’s limiter learns from the throttle', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor(
      {
        groups: [
          {
            per: 'agent',
            limiter: { mode: 'aimd', min: 1, max: 16, initial: 4 },
            retryThrottled: { attempts: 1 },
          },
        ],
      },
      upstream,
    );
    await warmUp(s.url);
    state.seen.length = 0;
    state.mode = 'throttle-once';
    expect((await get(s.url)).status).toBe(200);
    expect(state.seen).toHaveLength(2);
    const [group, agent] = s.shaper().stats();
    expect(group).toMatchObject({ group: '*', throttleRetries: 1 });
    expect(agent).toMatchObject({ group: expect.stringMatching(/^\*\/agent/), inFlight: 0, limit: 3 }); // the 500 cut 4 to 3
  });

  it('never re-sent: a POST, a request with a body, one without Slime-Block, and a slow genuine 500', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor(group(), upstream);
    await warmUp(s.url);
    const sends = async (mode: typeof state.mode, options: Parameters<typeof get>[1]) => {
      state.seen.length = 0;
      state.mode = mode;
      const r = await get(s.url, options);
      return { status: r.status, sends: state.seen.length };
    };
    expect(await sends('throttle', { method: 'POST' })).toEqual({ status: 500, sends: 1 });
    expect(await sends('throttle', { method: 'PUT', body: 'x' })).toEqual({ status: 500, sends: 1 });
    expect(await sends('throttle', { headers: {} })).toEqual({ status: 500, sends: 1 });
    // 120 ms is no throttle for an upstream whose answers take 30: it did the work and failed
    expect(await sends('slow-500', {})).toEqual({ status: 500, sends: 1 });
    // the rule may allow non-idempotent methods (still never one with a body)
    await using t = await hubFor(group({ nonIdempotent: true }), upstream);
    state.mode = 'ok';
    await warmUp(t.url);
    state.seen.length = 0;
    state.mode = 'throttle';
    expect((await get(t.url, { method: 'POST' })).status).toBe(500);
    expect(state.seen.map((x) => x.method)).toEqual(['POST', 'POST', 'POST']);
    state.seen.length = 0;
    expect((await get(t.url, { method: 'POST', body: 'x' })).status).toBe(500);
    expect(state.seen).toHaveLength(1);
  });

  it('a re-queued request goes to the front of the queue, ahead of requests that were waiting', async () => {
    const { upstream, state } = await scriptedUpstream(100);
    await using _u = upstream;
    // one at a time; a "fast" answer is anything quicker than a typical one (100 ms)
    await using s = await hubFor(group({ fastRatio: 1 }, { min: 1, max: 1, initial: 1 }), upstream);
    await warmUp(s.url, 8);
    state.seen.length = 0;
    state.mode = 'hold-throttle';
    const a = get(s.url, { headers: { ...BLOCK, 'x-n': 'a' } });
    await vi.waitFor(() => expect(state.seen).toHaveLength(1), { interval: 2 });
    const rejected = s.stats().rejections;
    const b = get(s.url, { headers: { ...BLOCK, 'x-n': 'b' } });
    await vi.waitFor(() => expect(s.stats().rejections).toBe(rejected + 1), { interval: 2 }); // b waits
    state.release.resolve(); // a's answer: a fast 500
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(state.seen.map((x) => x.n)).toEqual(['a', 'a', 'b']);
  });

  it('one block budget: a re-queued request that cannot get a slot in time gets 503 when the budget ends, not a new budget', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor(group({}, { min: 1, max: 2, initial: 2 }), upstream);
    await warmUp(s.url);
    // One slot is busy for a while (an answer the test holds back)...
    state.mode = 'hold-throttle';
    state.release = deferred();
    state.seen.length = 0;
    const busy = get(s.url, { headers: {} });
    // Wait for the upstream to hold it, not just for the hub to count it in flight: the hub counts
    // it before it reaches the upstream, and a request that arrives after the mode below is set is
    // answered with a throttle at once (its slot frees, and the 500s reach the client).
    await vi.waitFor(() => expect(state.seen).toHaveLength(1), { interval: 2 });
    expect(s.stats().inFlight).toBe(1);
    // ...and the other request's answer is a throttle, which also halves the limit to 1: its
    // re-send waits at the front for the busy slot, within the 600 ms it asked for in all.
    state.mode = 'throttle';
    const r = await get(s.url, { headers: { ...BLOCK, 'slime-block-timeout': '0.6' } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('ERR_HUB_BLOCK_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(550);
    expect(r.ms).toBeLessThan(1000);
    state.release.resolve();
    await busy;
  });
});

describe('upstream Retry-After on a 429/503', () => {
  it('holds the group for that long (visible in stats and metrics); a request that cannot wait is told so at once', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor({ groups: [{ limiter: { mode: 'fixed', limit: 4 } }] }, upstream);
    state.mode = 'retry-after';
    state.retryAfter = '2';
    const first = await get(s.url);
    // no retryThrottled: the upstream's answer goes to the client as it is
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('2');
    expect(s.stats()).toMatchObject({ retryAfterHolds: 1 });
    expect(s.stats().heldMs).toBeGreaterThan(1000);
    const exposition = await s.metrics.metrics();
    expect(exposition).toMatch(/slime_shaping_retry_after_total\{group="_any"\} 1/);
    expect(
      Number(/slime_shaping_hold_seconds\{group="_any"\} ([\d.]+)/.exec(exposition)?.[1]),
    ).toBeGreaterThan(1);
    // Without Slime-Block, or with a budget shorter than the hold: 503 at once, upstream untouched.
    const refused = await get(s.url, { headers: {} });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).code).toBe('ERR_HUB_OVERLOADED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const short = await get(s.url, { headers: { ...BLOCK, 'slime-block-timeout': '0.8' } });
    expect(short.status).toBe(503);
    expect(short.ms).toBeLessThan(700); // not at the end of its budget: at once
    expect(state.seen).toHaveLength(1);
    // A Slime-Block request waits the hold out, then goes.
    const waited = await get(s.url);
    expect(waited.status).toBe(200);
    // (measured from the first request's arrival upstream, before its answer started the hold)
    expect(state.seen[1]!.at - state.seen[0]!.at).toBeGreaterThanOrEqual(1950);
    expect(s.stats().heldMs).toBe(0);
  });

  it('the hold is capped by upstreamRetryAfter.maxMs, and ignored when it is false', async () => {
    const { upstream, state } = await scriptedUpstream();
    await using _u = upstream;
    await using capped = await hubFor(
      { groups: [{ limiter: { mode: 'fixed', limit: 4 }, upstreamRetryAfter: { maxMs: '300ms' } }] },
      upstream,
    );
    state.mode = 'retry-after';
    state.retryAfter = '3600';
    state.status = 429;
    await get(capped.url);
    expect((await get(capped.url)).status).toBe(200);
    const waited = state.seen[1]!.at - state.seen[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(1000);
    await using ignoring = await hubFor(
      { groups: [{ limiter: { mode: 'fixed', limit: 4 }, upstreamRetryAfter: false }] },
      upstream,
    );
    state.mode = 'retry-after';
    await get(ignoring.url);
    expect(ignoring.stats()).toMatchObject({ heldMs: 0, retryAfterHolds: 0 });
    expect((await get(ignoring.url, { headers: {} })).status).toBe(200);
  });

  it('with retryThrottled a Slime-Block request is re-sent after the hold, inside its budget', async () => {
    const { upstream, state, since } = await scriptedUpstream();
    await using _u = upstream;
    await using s = await hubFor(
      {
        groups: [
          { limiter: { mode: 'aimd', min: 1, max: 8, initial: 4 }, retryThrottled: { on: [429, 503] } },
        ],
      },
      upstream,
    );
    state.mode = 'retry-after';
    state.status = 429;
    // A 429 that says when to come back is a throttle whatever its latency (nothing learned yet).
    const r = await get(s.url, { headers: { ...BLOCK, 'slime-block-timeout': '3' } });
    expect(r.status).toBe(200);
    expect(state.seen).toHaveLength(2);
    expect(state.seen[1]!.at - state.seen[0]!.at).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(3000);
    // The same with a budget shorter than the hold: the 429 is passed on at once.
    state.mode = 'retry-after';
    const t0 = since();
    const passed = await get(s.url, { headers: { ...BLOCK, 'slime-block-timeout': '0.5' } });
    expect(passed.status).toBe(429);
    expect(passed.headers['retry-after']).toBe('1');
    expect(since() - t0).toBeLessThan(500);
  });
});
