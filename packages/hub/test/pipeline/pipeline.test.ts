import type { ServerResponse } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type DispatchedStream, Dispatcher } from '../../src/dispatch/dispatcher.js';
import { HubError } from '../../src/errors.js';
import { createAttempt } from '../../src/pipeline/attempt.js';
import type { Policy, ProxyResponse, RequestContext } from '../../src/pipeline/context.js';
import { buildPipeline, type PipelineDeps } from '../../src/pipeline/pipeline.js';
import type { RequestObserver } from '../../src/pipeline/policies/access-log.js';
import { type FakeRequest, fakeClock, fakeContext } from '../policy/fake-context.js';
import { recordingResponse } from './recording-response.js';

/** An agent that answers every request `text` with 200 at once. */
function answeringAgent(text: string) {
  const served: string[] = [];
  const agent = {
    id: 'agent-1',
    inFlight: 0,
    lastPick: 0,
    accepting: true,
    serves: () => true,
    openStream(request: { target: string }): DispatchedStream {
      served.push(request.target);
      const response: ProxyResponse = {
        status: 200,
        headers: [['content-type', 'text/plain']],
        servedBy: 'agent-1',
        body: {
          pipe: async (res: ServerResponse) => void res.end(text),
          discard: () => {},
          readAll: async () => new TextEncoder().encode(text),
          failure: null,
        },
      };
      return {
        response: Promise.resolve(response),
        cancel: () => {},
        expire: () => {},
        onSettled: () => {},
      };
    },
  };
  return { agent, served };
}

function setup(deps: Partial<PipelineDeps> = {}, request: FakeRequest = {}) {
  const clock = fakeClock(0);
  const dispatcher = new Dispatcher({
    concurrent: undefined,
    maxQueue: 10,
    now: clock.now,
    log: pino({ level: 'silent' }),
  });
  const observed: Parameters<RequestObserver>[0][] = [];
  const run = buildPipeline({
    dispatcher,
    appPassword: undefined,
    now: clock.now,
    redispatchWaitMs: 1000,
    observe: (e) => observed.push(e),
    ...deps,
  });
  const res = recordingResponse();
  const ctx = fakeContext(request) as RequestContext;
  Object.assign(ctx, { res });
  return { run, ctx, res, dispatcher, observed, clock };
}

/** A policy for a slot that records its name and passes on. */
const mark =
  (order: string[], name: string): Policy =>
  async (_ctx, next) => {
    order.push(name);
    await next();
  };

describe('the pipeline (no sockets: a recording response and an in-memory agent)', () => {
  it('runs the slots in the documented order and writes the agent’s answer', async () => {
    const order: string[] = [];
    const slots = ['access', 'rateLimits', 'router', 'fallback', 'shaping'] as const;
    const s = setup(Object.fromEntries(slots.map((n) => [n, [mark(order, n)]])));
    const { agent, served } = answeringAgent('hello');
    s.dispatcher.capacity(agent);
    await s.run(s.ctx);
    expect(order).toEqual(['access', 'rateLimits', 'router', 'fallback', 'shaping']);
    expect(served).toEqual(['/']);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.body).toBe('hello');
    expect(s.res.headers['slime-agent-id']).toBe('agent-1');
    expect(s.res.headers['x-request-id']).toBe('req-1');
    expect(s.observed).toMatchObject([{ status: 200, outcome: 'ok', agent: 'agent-1' }]);
  });

  it('a wrong Slime-App-Password is 401 before any policy slot runs', async () => {
    const order: string[] = [];
    const s = setup(
      { appPassword: 'right', access: [mark(order, 'access')] },
      { headers: { 'slime-app-password': 'wrong' } },
    );
    await s.run(s.ctx);
    expect(order).toEqual([]);
    expect(s.res.statusCode).toBe(401);
    expect(s.res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(s.res.body)).toMatchObject({ code: 'ERR_HUB_UNAUTHORIZED', requestId: 'req-1' });
    expect(s.observed).toMatchObject([{ status: 401, outcome: 'ERR_HUB_UNAUTHORIZED' }]);
  });

  it('fallback gets the downstream: each try runs shaping and dispatch again', async () => {
    const order: string[] = [];
    const tries: Policy = async (ctx) => {
      await ctx.downstream!(ctx, createAttempt(ctx));
      ctx.result = await ctx.downstream!(ctx, createAttempt(ctx, { index: 1, target: '/second' }));
    };
    const s = setup({ fallback: [tries], shaping: [mark(order, 'shaping')] });
    const { agent, served } = answeringAgent('ok');
    s.dispatcher.capacity(agent);
    await s.run(s.ctx);
    expect(order).toEqual(['shaping', 'shaping']);
    expect(served).toEqual(['/', '/second']);
    expect(s.res.statusCode).toBe(200);
  });

  it('no agent: 503 problem+json ERR_HUB_NO_AGENT with Retry-After, headers from policies kept', async () => {
    const addsHeader: Policy = async (ctx, next) => {
      ctx.responseHeaders.ratelimit = 'limit=10';
      await next();
    };
    const s = setup({ rateLimits: [addsHeader] });
    await s.run(s.ctx);
    expect(s.res.statusCode).toBe(503);
    expect(JSON.parse(s.res.body)).toMatchObject({ code: 'ERR_HUB_NO_AGENT' });
    expect(s.res.headers['retry-after']).toBe('1');
    expect(s.res.headers.ratelimit).toBe('limit=10');
  });

  it('a policy that throws anything but a HubError is a 500 ERR_HUB_INTERNAL; a HubError keeps its status', async () => {
    const broken = setup({ router: [() => Promise.reject(new Error('bug'))] });
    await broken.run(broken.ctx);
    expect(broken.res.statusCode).toBe(500);
    expect(JSON.parse(broken.res.body)).toMatchObject({ code: 'ERR_HUB_INTERNAL' });
    const denied = setup({ access: [() => Promise.reject(new HubError('ERR_HUB_FORBIDDEN', 'no'))] });
    await denied.run(denied.ctx);
    expect(denied.res.statusCode).toBe(403);
  });

  it('a client that left gets nothing written: the response is destroyed', async () => {
    const s = setup({}, {});
    (s.ctx as ReturnType<typeof fakeContext>).abort();
    await s.run(s.ctx);
    expect(s.res.destroyed).toBe(true);
    expect(s.res.body).toBe('');
  });
});
