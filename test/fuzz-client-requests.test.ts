import fc from 'fast-check';
import { Agent as HttpAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  finalResponse,
  header,
  problemDefect,
  type RawResult,
  rawHttp,
  type WireParse,
} from './helpers/fuzz-http.js';
import { type Echo, echo, oddCase, type RequestCase, validCase } from './helpers/fuzz-requests.js';
import { assertFuzzProperty, heapBaseline } from './helpers/fuzz-run.js';
import {
  startAgent,
  startHub,
  startUpstream,
  type TestAgent,
  type TestHub,
  type TestUpstream,
} from './helpers/harness.js';

/**
 * Random application requests over raw sockets at a live hub with one well-behaved agent.
 * Reproduce a failure with FUZZ_SEED (fast-check prints the seed and path); FUZZ_RUNS runs more.
 */
const SLOTS = 4;

interface World {
  hub: TestHub;
  upstream: TestUpstream;
  good: TestAgent;
  goodId: string;
  http: HttpAgent;
  dirty: boolean;
}

let world: World | undefined;

async function createWorld(): Promise<World> {
  const upstream = await startUpstream(echo);
  const hub = await startHub();
  const good = await startAgent(hub, upstream, { name: 'good', numWorker: SLOTS });
  await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(SLOTS));
  return { hub, upstream, good, goodId: hub.hub.agents()[0]!.id, http: new HttpAgent(), dirty: false };
}

async function disposeWorld(w: World): Promise<void> {
  await w.http.close();
  await w.good.agent.close();
  await w.hub.hub.close();
  await w.upstream.close();
}

/** The shared hub, or a fresh one when a failed run may have left the old one in a bad state. */
async function currentWorld(): Promise<World> {
  if (world?.dirty) {
    await disposeWorld(world);
    world = undefined;
  }
  world ??= await createWorld();
  return world;
}

async function send(w: World, c: RequestCase): Promise<RawResult> {
  if (c.end === 'cut') {
    return rawHttp(w.hub.port, [c.bytes.subarray(0, c.cut)], { end: 'destroy' });
  }
  return rawHttp(w.hub.port, [c.bytes], {
    end: c.end,
    head: c.head,
    finals: c.pipelined,
    watchdogMs: 3_000,
  });
}

/** What is wrong with one answer, or null. Hub refusals (no Slime-Agent-Id) are problem+json. */
function defect(p: WireParse, head: boolean): string | null {
  const res = finalResponse(p);
  if (p.error) return `malformed answer: ${p.error}`;
  if (!res) return null;
  if (header(res, 'slime-agent-id') === undefined && res.status >= 400) return problemDefect(res, head);
  return null;
}

/** What is wrong with a well-formed request's answer, or null. */
function wrongEcho(p: WireParse, want: Echo): string | null {
  const res = finalResponse(p);
  if (!res || !p.done) return `no complete answer (${p.error ?? 'cut short'})`;
  if (res.status !== 200) return `status ${res.status}: ${res.body.toString('latin1').slice(0, 200)}`;
  if (want.method === 'HEAD') return null;
  let got: Echo;
  try {
    got = JSON.parse(res.body.toString('utf8')) as Echo;
  } catch {
    return `not the echo: ${res.body.toString('latin1').slice(0, 200)}`;
  }
  return JSON.stringify(got) === JSON.stringify(want)
    ? null
    : `echo ${JSON.stringify(got)} != ${JSON.stringify(want)}`;
}

function check(c: RequestCase, r: RawResult): string | null {
  if (c.end === 'cut' || c.end === 'destroy') return null;
  if (r.timedOut) {
    return `no answer and no close in 3 s (read ${r.bytes.length} bytes: ${JSON.stringify(r.bytes.toString('latin1').slice(0, 120))})`;
  }
  for (const [i, p] of r.answers.entries()) {
    const d = defect(p, c.head);
    if (d) return `answer ${i}: ${d}: ${JSON.stringify(r.bytes.toString('latin1').slice(0, 300))}`;
  }
  if (c.expect) {
    for (const [i, want] of c.expect.entries()) {
      const p = r.answers[i];
      const wrong = p ? wrongEcho(p, want) : 'no answer';
      if (wrong) return `answer ${i}: ${wrong}`;
    }
    if (r.answers.at(-1)?.rest.length)
      return `bytes after the last answer: ${r.answers.at(-1)!.rest.toString('latin1')}`;
  }
  return null;
}

/** A request for the agent through an ordinary HTTP client, while the odd ones run. */
async function plainRequest(w: World, n: number): Promise<string | null> {
  const body = `plain-${n}`;
  try {
    const res = await request(`${w.hub.url}/plain/${n}`, {
      method: 'POST',
      body,
      headers: { 'slime-block': '1' },
      dispatcher: w.http,
    });
    const got = (await res.body.json()) as Echo;
    return res.statusCode === 200 && got.url === `/plain/${n}` && got.length === body.length
      ? null
      : `plain request ${n}: ${res.statusCode} ${JSON.stringify(got)}`;
  } catch (err) {
    return `plain request ${n} failed: ${(err as Error).message}`;
  }
}

const batch = fc.array(fc.oneof({ weight: 2, arbitrary: validCase }, { weight: 3, arbitrary: oddCase }), {
  minLength: 1,
  maxLength: 8,
});

let runs = 0;

async function runBatch(w: World, cases: RequestCase[]): Promise<void> {
  const run = ++runs;
  const plain = [plainRequest(w, run * 10), plainRequest(w, run * 10 + 1)];
  const results = await Promise.all(cases.map((c) => send(w, c)));
  const problems: string[] = [];
  for (const [i, c] of cases.entries()) {
    const d = check(c, results[i]!);
    if (d) problems.push(`${c.label}\n    -> ${d}`);
  }
  for (const p of await Promise.all(plain)) if (p) problems.push(p);
  if (problems.length > 0) throw new Error(`\n  ${problems.join('\n  ')}`);

  // Back to the baseline: the same agent, nothing in flight, nothing queued, all credits home.
  await vi.waitFor(() => {
    const agents = w.hub.hub.agents();
    expect(agents.map((a) => a.id)).toEqual([w.goodId]);
    expect(agents[0]).toMatchObject({ inFlight: 0, credits: SLOTS });
    expect(w.hub.hub.activeRequests).toBe(0);
    expect(w.hub.hub.queueLength).toBe(0);
  });
  const health = await request(`${w.hub.url}/_slime/health`, { dispatcher: w.http });
  expect(health.statusCode).toBe(200);
  expect(await health.body.json()).toMatchObject({ status: 'ok', agents: 1 });
}

describe('fuzzing the client side of a live hub', () => {
  let baseline = 0;

  beforeAll(async () => {
    const w = await currentWorld();
    expect(await plainRequest(w, 0)).toBeNull();
    baseline = heapBaseline();
  });

  afterAll(async () => {
    if (world) await disposeWorld(world);
  });

  it('odd requests get well-formed answers (problem+json refusals) and never harm the agent', async () => {
    await assertFuzzProperty({
      arbitrary: batch,
      world: currentWorld,
      run: runBatch,
      defaultSeed: 0x5_11_e2,
      baseline,
    });
  }, 120_000);
});

/**
 * Deterministic reductions of what the property found, fixed in #18: the hub's clientError handler
 * used to destroy the socket whenever a ServerResponse existed for it (`_httpMessage`), even one
 * whose head had not left, so a request already handed to an agent lost its answer and a refusal
 * got no answer at all.
 */
describe('regressions the request fuzzer found', () => {
  async function setup() {
    const upstream = await startUpstream(echo);
    const hub = await startHub();
    const agent = await startAgent(hub, upstream, { name: 'good' });
    return {
      upstream,
      hub,
      async [Symbol.asyncDispose]() {
        await agent.agent.close();
        await hub.hub.close();
        await upstream.close();
      },
    };
  }

  it('answers a request before dropping what the client sent after its Connection: close', async () => {
    await using s = await setup();
    const r = await rawHttp(s.hub.port, [
      'POST /v/once HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi' +
        'GET /v/again HTTP/1.1\r\nHost: a\r\n\r\n',
    ]);
    // the POST went to the agent (its upstream may already have run it): its answer must reach
    // the client, and only then the connection close (RFC 9112 §9.6)
    expect(r.timedOut).toBe(false);
    expect(finalResponse(r.parse)?.status).toBe(200);
  });

  it('answers a request before refusing a malformed one pipelined after it', async () => {
    await using s = await setup();
    const r = await rawHttp(s.hub.port, ['GET /v/first HTTP/1.1\r\nHost: a\r\n\r\nxyz /\r\n\r\n'], {
      finals: 2,
    });
    expect(r.timedOut).toBe(false);
    expect(finalResponse(r.answers[0]!)?.status).toBe(200);
  });

  it('refuses a chunked body the parser rejects with problem+json, not a silent drop', async () => {
    await using s = await setup();
    const r = await rawHttp(s.hub.port, [
      'POST /v/body HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]);
    const res = finalResponse(r.parse);
    expect(res?.status, `answer: ${JSON.stringify(r.bytes.toString('latin1'))}`).toBe(400);
    expect(problemDefect(res!)).toBeNull();
  });
});
