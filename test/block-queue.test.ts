import { performance } from 'node:perf_hooks';
import { request, Agent as UndiciAgent } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { deferred, startAgent, startHub, startUpstream, type TestAgent } from './helpers/harness.js';

const BLOCK = { 'slime-block': '1' };

describe('Slime-Block queue', () => {
  it('serves 1000 blocking requests through one single-slot agent in arrival order, none lost', async () => {
    const order: number[] = [];
    const gate = deferred();
    await using upstream = await startUpstream(async (req, res) => {
      const seq = Number(req.headers['x-seq']);
      if (seq === -1) await gate.promise;
      order.push(seq);
      res.end(String(seq));
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 1 });
    const client = new UndiciAgent({ connections: 1100 });
    const first = request(`${hub.url}/`, { headers: { ...BLOCK, 'x-seq': '-1' }, dispatcher: client });
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const all: Array<Promise<string>> = [];
    for (let i = 0; i < 1000; i++) {
      all.push(
        request(`${hub.url}/`, { headers: { ...BLOCK, 'x-seq': String(i) }, dispatcher: client }).then((r) =>
          r.body.text(),
        ),
      );
      // wait until the hub queued it, so "arrival order" is well defined
      await vi.waitFor(() => expect(hub.hub.queueLength).toBe(i + 1), { interval: 1 });
    }
    gate.resolve();
    await (await first).body.dump();
    const bodies = await Promise.all(all);
    expect(bodies).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
    expect(order).toEqual([-1, ...Array.from({ length: 1000 }, (_, i) => i)]);
    expect(upstream.maxInFlight).toBe(1);
    expect(upstream.count).toBe(1001);
    await client.close();
  });

  it('dispatches requests queued with no agent within milliseconds of an agent connecting', async () => {
    let firstArrival = 0;
    await using upstream = await startUpstream((_req, res) => {
      firstArrival ||= performance.now();
      res.end('ok');
    });
    await using hub = await startHub();
    const pending = Array.from({ length: 5 }, () =>
      request(`${hub.url}/`, { headers: BLOCK }).then((r) => r.body.text()),
    );
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(5));
    let connectedAt = 0;
    const agentReady = startAgent(hub, upstream, { numWorker: 5 });
    // the hub logs the WELCOME; the agent's 'connected' is the first moment work may flow
    const agent: TestAgent = await agentReady;
    connectedAt = performance.now();
    expect(await Promise.all(pending)).toEqual(Array(5).fill('ok'));
    const wakeMs = firstArrival - connectedAt;
    // generous bound: the point is "no polling interval" (the Go version waits up to 1 s)
    expect(wakeMs).toBeLessThan(100);
    console.log(`wake-up after agent connect: ${wakeMs.toFixed(2)} ms`);
    await agent.agent.close();
  });

  it('answers 503 with Retry-After when Slime-Block-Timeout expires', async () => {
    await using hub = await startHub();
    const started = performance.now();
    const res = await request(`${hub.url}/`, { headers: { ...BLOCK, 'slime-block-timeout': '0.2' } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_BLOCK_TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(hub.hub.queueLength).toBe(0);
  });

  it('applies the hub-wide --block-timeout, and rejects a malformed Slime-Block-Timeout with 400', async () => {
    await using hub = await startHub({ blockTimeoutMs: 100 });
    const res = await request(`${hub.url}/`, { headers: BLOCK });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
    const bad = await request(`${hub.url}/`, { headers: { ...BLOCK, 'slime-block-timeout': 'soon' } });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
  });

  it.each([
    ['0', false],
    ['false', false],
    ['No', false],
    ['OFF', false],
    ['1', true],
    ['yes', true],
  ])('Slime-Block: %s blocks = %s', async (value, blocks) => {
    await using hub = await startHub({ blockTimeoutMs: 50 });
    const res = await request(`${hub.url}/`, { headers: { 'slime-block': value } });
    expect(res.statusCode).toBe(503);
    expect(((await res.body.json()) as { code: string }).code).toBe(
      blocks ? 'ERR_HUB_BLOCK_TIMEOUT' : 'ERR_HUB_NO_AGENT',
    );
  });

  it('removes a client that disconnects while queued; it never reaches the upstream', async () => {
    const gate = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      await gate.promise;
      res.end('ok');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 1 });
    const busy = request(`${hub.url}/busy`, { headers: BLOCK });
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const controller = new AbortController();
    const leaving = request(`${hub.url}/leaving`, { headers: BLOCK, signal: controller.signal }).catch(
      (e: Error) => e.name,
    );
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    controller.abort();
    expect(await leaving).toBe('AbortError');
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(0));
    gate.resolve();
    await (await busy).body.dump();
    const after = await request(`${hub.url}/after`, { headers: BLOCK });
    await after.body.dump();
    expect(upstream.count).toBe(2); // busy and after; never "leaving"
  });

  it('answers 503 at once when the queue is full', async () => {
    await using hub = await startHub({ maxQueue: 2 });
    const waiting = [1, 2].map(() => request(`${hub.url}/`, { headers: BLOCK }).catch(() => undefined));
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(2));
    const res = await request(`${hub.url}/`, { headers: BLOCK });
    expect(res.statusCode).toBe(503);
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_QUEUE_FULL');
    await hub.hub.close();
    await Promise.all(waiting);
  });

  it('--concurrent N serves at most N at once and queues the rest in FIFO order, even without Slime-Block', async () => {
    const gates: Array<() => void> = [];
    await using upstream = await startUpstream(async (_req, res) => {
      await new Promise<void>((r) => gates.push(r));
      res.end('ok');
    });
    await using hub = await startHub({ concurrent: 2 });
    await using _agent = await startAgent(hub, upstream, { numWorker: 10 });
    const all = Array.from({ length: 6 }, () => request(`${hub.url}/`).then((r) => r.body.text()));
    await vi.waitFor(() => expect(upstream.inFlight).toBe(2));
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(4));
    while (gates.length < 6) {
      const before = gates.length;
      gates[before - 1]!();
      await vi.waitFor(() => expect(gates.length).toBe(before + 1));
      expect(upstream.inFlight).toBeLessThanOrEqual(2);
    }
    for (const g of gates) g();
    expect(await Promise.all(all)).toEqual(Array(6).fill('ok'));
    expect(upstream.maxInFlight).toBe(2);
  });

  it('a request waiting for an absent scope does not block others under --concurrent', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('served'));
    await using hub = await startHub({ concurrent: 1 });
    await using _agent = await startAgent(hub, upstream);
    const stuck = request(`${hub.url}/`, { headers: { ...BLOCK, 'slime-scope': 'absent' } }).catch(
      () => undefined,
    );
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    const other = await request(`${hub.url}/`, { headers: BLOCK });
    expect(await other.body.text()).toBe('served');
    await hub.hub.close();
    await stuck;
  });

  it('chaos: agents killed and restarted under blocking load; every request answered once, none lost or doubled', async () => {
    // Each upstream holds its requests until the test releases them, so a kill always lands on work
    // that the upstream has not completed: completions then count each request exactly once.
    const completed = new Map<string, number>();
    const held: Array<{ id: string; release: () => void; aborted: () => boolean }> = [];
    const makeUpstream = () =>
      startUpstream((req, res) => {
        const id = String(req.headers['x-id']);
        let gone = false;
        res.once('close', () => {
          gone = true;
        });
        held.push({
          id,
          aborted: () => gone,
          release: () => {
            if (gone) return;
            // counted once the response left the upstream: a socket the killed agent already
            // aborted never finishes, and that request is rightly served again elsewhere
            res.once('finish', () => completed.set(id, (completed.get(id) ?? 0) + 1));
            res.end(id);
          },
        });
      });
    const upstreams = [await makeUpstream(), await makeUpstream(), await makeUpstream()];
    await using hub = await startHub();
    const agents = await Promise.all(
      upstreams.map((u, i) => startAgent(hub, u, { numWorker: 2, name: `a${i}` })),
    );
    const TOTAL = 120;
    const answers = new Map<string, number[]>();
    let sent = 0;
    const inflight: Array<Promise<void>> = [];
    const send = () => {
      const id = String(sent++);
      inflight.push(
        request(`${hub.url}/`, { headers: { ...BLOCK, 'x-id': id } }).then(async (r) => {
          const body = await r.body.text();
          answers.set(id, [...(answers.get(id) ?? []), r.statusCode]);
          if (r.statusCode === 200) expect(body).toBe(id);
        }),
      );
    };
    const topUp = () => {
      while (sent < TOTAL && sent - answers.size < 12) send();
    };
    topUp();
    let kills = 0;
    for (let round = 0; answers.size < TOTAL; round++) {
      topUp();
      await vi.waitFor(() => expect(held.length > 0 || answers.size === TOTAL).toBe(true), { interval: 1 });
      if (answers.size === TOTAL) break;
      // rotate victims, so no single request is hit more often than the hub's re-dispatch bound
      const candidates = [0, 1, 2].map((k) => (k + kills) % 3);
      const victim = candidates.find((k) => upstreams[k]!.inFlight > 0) ?? -1;
      if (round % 5 === 4 && kills < 8 && victim !== -1) {
        // no released response may still be in transit, or a kill could lose a completed one
        const done = () => [...completed.values()].reduce((a, b) => a + b, 0);
        await vi.waitFor(() => expect(answers.size).toBe(done()), { interval: 1 });
        agents[victim]!.agent.destroy();
        await vi.waitFor(() => expect(upstreams[victim]!.inFlight).toBe(0), { interval: 1 });
        for (let i = held.length - 1; i >= 0; i--) if (held[i]!.aborted()) held.splice(i, 1);
        agents[victim] = await startAgent(hub, upstreams[victim]!, {
          numWorker: 2,
          name: `a${victim}-${kills}`,
        });
        kills++;
        continue;
      }
      held.shift()?.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(inflight);
    expect(kills).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < TOTAL; i++) expect(answers.get(String(i)), `request ${i}`).toEqual([200]);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    expect(completed.size).toBe(TOTAL);
    for (const a of agents) await a.agent.close();
    for (const u of upstreams) await u.close();
  });
});
