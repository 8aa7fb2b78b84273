import { createHash, randomBytes } from 'node:crypto';
import { ResetCode } from '@slime/protocol';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

/** A port nothing listens on: an upstream that is down. */
async function deadUpstream(): Promise<string> {
  const up = await startUpstream((_req, res) => res.end());
  const url = up.url;
  await up.close();
  return url;
}

function echo() {
  return startUpstream(async (req, res) => {
    const body = await readAll(req);
    res.end(`${req.method} ${createHash('sha256').update(body).digest('hex')}`);
  });
}

describe('a dead upstream stops taking traffic', () => {
  it('beside a healthy agent, no client sees a failure: never-sent requests, POSTs included, run elsewhere', async () => {
    await using healthy = await echo();
    await using hub = await startHub();
    await using _dead = await startAgent(hub, await deadUpstream(), { name: 'dead', numWorker: 4 });
    await using _live = await startAgent(hub, healthy, { name: 'live', numWorker: 4 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const body = randomBytes(1000 + i);
      const res = await request(`${hub.url}/job/${i}`, { method: 'POST', body });
      statuses.push(res.statusCode);
      expect(await res.body.text()).toBe(`POST ${createHash('sha256').update(body).digest('hex')}`);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(healthy.count).toBe(20);
  });

  it('with no healthy agent left the client gets 503 ERR_HUB_NO_AGENT, and no body names the upstream', async () => {
    const dead = await deadUpstream();
    await using hub = await startHub();
    await using _dead = await startAgent(hub, dead, { name: 'dead' });
    const res = await request(`${hub.url}/x`, { method: 'POST', body: 'payload' });
    expect(res.statusCode).toBe(503);
    const text = await res.body.text();
    const problem = JSON.parse(text) as { code: string; requestId: string };
    expect(problem.code).toBe('ERR_HUB_NO_AGENT');
    expect(problem.requestId).toMatch(/\S/);
    const { port } = new URL(dead);
    expect(text).not.toContain(port);
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });

  it('a POST whose bytes reached the upstream is never run twice', async () => {
    await using flaky = await startUpstream(async (req) => {
      await readAll(req);
      req.socket.destroy(); // took the whole body, then died without an answer
    });
    await using healthy = await echo();
    await using hub = await startHub();
    await using _flaky = await startAgent(hub, flaky, { name: 'flaky' });
    const res = await request(`${hub.url}/pay`, { method: 'POST', body: 'once' });
    expect(res.statusCode).toBe(502);
    const text = await res.body.text();
    expect(text).not.toMatch(/127\.0\.0\.1|ECONNRESET|socket/i);
    expect(flaky.count).toBe(1);
    await using _live = await startAgent(hub, healthy, { name: 'live' });
    expect(healthy.count).toBe(0);
  });

  it('an agent that keeps failing to connect (and keeps offering credit) is ejected, and shows it', async () => {
    await using healthy = await echo();
    await using hub = await startHub({
      outlierDetection: { consecutiveConnectErrors: 3, baseEjectionMs: 60_000 },
    });
    // An agent that never withdraws: every request it takes fails to connect (an old agent's way).
    const stubborn = await rawAgent(hub.url, { slots: 1 });
    stubborn.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await using _live = await startAgent(hub, healthy, { name: 'live' });
    await vi.waitFor(() => expect(hub.hub.agents().every((a) => a.credits > 0)).toBe(true));
    let refusedByStubborn = 0;
    const answerAll = (async () => {
      for (;;) {
        const req = await stubborn.next('REQUEST');
        refusedByStubborn++;
        stubborn.send({
          type: 'RESET',
          streamId: req.streamId,
          code: ResetCode.UPSTREAM_CONNECT,
          message: 'upstream refused the connection',
        });
        stubborn.send({ type: 'CREDIT', streamId: 0, count: 1 });
      }
    })();
    answerAll.catch(() => {});
    // Without Slime-Block both agents are tried in turn; every request still succeeds on the live one.
    for (let i = 0; i < 12; i++) {
      const res = await request(`${hub.url}/r${i}`, { headers: { 'slime-block': '1' } });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    const raw = hub.hub.agents().find((a) => a.name === 'raw')!;
    expect(raw.ejections).toBe(1);
    expect(raw.ejectedUntil).toBeGreaterThan(Date.now());
    // once ejected it gets nothing more
    expect(refusedByStubborn).toBe(3);
    stubborn.ws.terminate();
  });
});
