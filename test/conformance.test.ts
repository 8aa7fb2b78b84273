import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as UndiciAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES, type Case } from './helpers/conformance-cases.js';
import { both, type Exchange, forwardedBy, HUB_ONLY, type Sides } from './helpers/conformance-exchange.js';
import {
  compared,
  curlUpload,
  echoWithoutExpect,
  postExpectingContinue,
  timedGet,
} from './helpers/conformance-special.js';
import { startAgent, startHub } from './helpers/harness.js';
import { startHttpbin } from './helpers/httpbin.js';

// The same request straight to a real third-party server (httpbin under gunicorn) and through
// hub + agent must give the same status, end-to-end fields and body bytes. What may differ is
// listed once, in conformance-exchange.ts (view, forwardedBy); everything else is a proxy bug.

interface Env {
  sides: Sides;
  agentId: string;
  close(): Promise<void>;
}

/** One gunicorn, one hub, one agent (8 slots) and the clients, shared by the whole file. */
async function startEnv(): Promise<Env> {
  const undo: (() => unknown)[] = [];
  // Clients first, then the agent, the hub, and the upstream last.
  const close = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    const httpbin = await startHttpbin();
    undo.push(() => httpbin.stop());
    const hub = await startHub();
    undo.push(() => hub[Symbol.asyncDispose]());
    const agent = await startAgent(hub, httpbin.url, { numWorker: 8 });
    undo.push(() => agent[Symbol.asyncDispose]());
    const dispatcher = new UndiciAgent();
    undo.push(() => dispatcher.close());
    const httpAgent = new HttpAgent({ keepAlive: true });
    undo.push(() => httpAgent.destroy());
    const sides = { direct: httpbin.url, hub: hub.url, dispatcher, httpAgent };
    const agentId = agent.agent.hubAgentId;
    if (!agentId) throw new Error('the agent is ready but has no id from the hub');
    return { sides, agentId, close };
  } catch (err) {
    await close();
    throw err;
  }
}

let setup: Promise<Env> | undefined;
beforeAll(async () => {
  setup = startEnv();
  await setup.catch(() => {});
});
afterAll(() =>
  setup?.then(
    (e) => e.close(),
    () => {},
  ),
);

/**
 * The shared servers. A failed start (gunicorn or httpbin missing, say) fails every test with its
 * reason; thrown from beforeAll it would only mark them skipped.
 */
const env = () => setup!;

/** What the hub adds to every answer: one X-Request-Id, and the id of the agent that served it. */
function expectHubFields(ex: Exchange, agentId: string): void {
  const ids = [ex.headers['x-request-id'] ?? []].flat();
  expect(ids, 'exactly one X-Request-Id').toHaveLength(1);
  expect(ex.headers['slime-agent-id']).toBe(agentId);
}

async function expectSame(c: Case): Promise<void> {
  const { sides, agentId } = await env();
  const { direct, hub } = await both(sides, c);
  const { direct: want, hub: got } = compared(direct, hub, c.mask);
  expect(got).toEqual(want);
  expectHubFields(hub, agentId);
}

// '%s' with the name itself: '$name' would cut names at 40 characters, and some would collide.
const table = (cases: readonly Case[]) => cases.map((c) => [c.name, c] as const);

describe.sequential('httpbin straight vs through hub and agent, one at a time', () => {
  it.each(table(CASES.filter((c) => c.sequential)))('%s', (_, c) => expectSame(c));
});

describe.concurrent('httpbin straight vs through hub and agent', () => {
  it.each(table(CASES.filter((c) => !c.sequential)))('%s', (_, c) => expectSame(c));

  it('GET /drip streams: the bytes arrive spread over time through the hub too', async () => {
    const { sides } = await env();
    // httpbin writes one byte every 200 ms; a proxy that buffers delivers them all at once (one
    // read, no spread). Several reads and at least one of httpbin's gaps: a busy machine may merge
    // two bytes into one read or shorten the spread, but never to a single read at once.
    const path = '/drip?duration=1&numbytes=5&delay=0';
    const [direct, viaHub] = await Promise.all([
      timedGet(`${sides.direct}${path}`, forwardedBy(sides.hub), sides.dispatcher),
      timedGet(`${sides.hub}${path}`, HUB_ONLY, sides.dispatcher),
    ]);
    expect(direct).toMatchObject({ status: 200, body: '*****' });
    expect(direct.reads).toBeGreaterThanOrEqual(3);
    expect(direct.spreadMs).toBeGreaterThan(200);
    expect({ status: viaHub.status, body: viaHub.body }).toEqual({ status: 200, body: '*****' });
    expect(viaHub.reads, 'body reads that brought bytes').toBeGreaterThanOrEqual(3);
    expect(viaHub.spreadMs, 'ms between the first and the last byte').toBeGreaterThan(200);
  });

  it('POST with Expect: 100-continue gets its 100, then the echo of the body', async () => {
    const { sides, agentId } = await env();
    const body = randomBytes(256 * 1024);
    const [direct, viaHub] = await Promise.all([
      postExpectingContinue(sides.direct, '/anything', body, forwardedBy(sides.hub)),
      postExpectingContinue(sides.hub, '/anything', body, HUB_ONLY),
    ]);
    expect(direct).toMatchObject({ status: 200, continued: true });
    expect({ status: viaHub.status, continued: viaHub.continued }).toEqual({ status: 200, continued: true });
    const data = `data:application/octet-stream;base64,${body.toString('base64')}`;
    expect(JSON.parse(direct.body.toString()).data).toBe(data);
    expect(echoWithoutExpect(viaHub.body)).toEqual(echoWithoutExpect(direct.body));
    expectHubFields(viaHub, agentId);
  });

  it('curl --data-binary @file (2 MiB, Expect: 100-continue) arrives intact', async () => {
    const { sides } = await env();
    const dir = mkdtempSync(join(tmpdir(), 'slime-conformance-'));
    try {
      const file = join(dir, 'upload.bin');
      const bytes = randomBytes(2 * 1024 * 1024);
      writeFileSync(file, bytes);
      const [direct, viaHub] = await Promise.all([
        curlUpload(sides.direct, file, forwardedBy(sides.hub)),
        curlUpload(sides.hub, file, HUB_ONLY),
      ]);
      const ok = { code: 0, status: '200', continued: true };
      expect(direct).toMatchObject(ok);
      expect({ code: viaHub.code, status: viaHub.status, continued: viaHub.continued }).toEqual(ok);
      const data = `data:application/octet-stream;base64,${bytes.toString('base64')}`;
      expect(JSON.parse(direct.body.toString()).data).toBe(data);
      expect(echoWithoutExpect(viaHub.body)).toEqual(echoWithoutExpect(direct.body));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a client X-Request-Id comes back once, even when the upstream echoes it', async () => {
    const { sides } = await env();
    const path = '/response-headers?X-Request-Id=conf-4711';
    const { direct, hub } = await both(sides, { path, headers: ['x-request-id', 'conf-4711'] });
    expect(direct.headers['x-request-id']).toBe('conf-4711');
    expect(hub.status).toBe(200);
    expect([hub.headers['x-request-id']].flat()).toEqual(['conf-4711']);
  });

  it('an upstream X-Request-Id of its own does not make the hub answer with two', async () => {
    const { sides, agentId } = await env();
    const { hub } = await both(sides, { path: '/response-headers?X-Request-Id=set-by-upstream' });
    expect(hub.status).toBe(200);
    expectHubFields(hub, agentId);
  });

  it('/uuid through the hub is a UUID too', async () => {
    const { sides } = await env();
    // The table compares /uuid with the UUID masked; this checks the unmasked value is one.
    const { hub } = await both(sides, { path: '/uuid' });
    expect(JSON.parse(hub.body.toString())).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    });
  });
});
