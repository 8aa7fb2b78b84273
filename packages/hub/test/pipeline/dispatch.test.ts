import { Readable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { OpenStreamRequest } from '../../src/agents/connection-types.js';
import { type DispatchedStream, Dispatcher } from '../../src/dispatch/dispatcher.js';
import { HubError } from '../../src/errors.js';
import { createAttempt } from '../../src/pipeline/attempt.js';
import type { ProxyResponse } from '../../src/pipeline/context.js';
import { dispatchToAgent } from '../../src/pipeline/policies/dispatch.js';
import { StreamRefusedError } from '../../src/streams/reset-errors.js';
import { fakeContext } from '../policy/fake-context.js';
import { manualTimers } from './manual-timers.js';

const ok = (servedBy: string): ProxyResponse => ({
  status: 200,
  headers: [],
  servedBy,
  body: { pipe: async () => {}, discard: () => {}, readAll: async () => new Uint8Array(), failure: null },
});

type Answer = (request: OpenStreamRequest) => Promise<ProxyResponse>;

/** An agent whose streams answer with `answers` in turn; it records what it was sent. */
function scriptedAgent(id: string, answers: Answer[]) {
  const sent: OpenStreamRequest[] = [];
  const expired: number[] = [];
  const agent = {
    id,
    inFlight: 0,
    lastPick: 0,
    accepting: true,
    serves: () => true,
    openStream(request: OpenStreamRequest): DispatchedStream {
      sent.push(request);
      const answer = answers.shift() ?? (async () => ok(id));
      let reject!: (e: Error) => void;
      const expiry = new Promise<never>((_, r) => {
        reject = r;
      });
      return {
        response: Promise.race([answer(request), expiry]),
        cancel: () => reject(new HubError('ERR_HUB_CLIENT_GONE', 'cancelled')),
        expire: (ms) => {
          expired.push(ms);
          reject(new HubError('ERR_HUB_UPSTREAM_TIMEOUT', 'expired'));
        },
        onSettled: () => {},
      };
    },
  };
  return { agent, sent, expired };
}

function setup(options: { requestTimeoutMs?: number } = {}) {
  const t = manualTimers();
  const dispatcher = new Dispatcher({
    concurrent: undefined,
    maxQueue: 10,
    now: () => 0,
    log: pino({ level: 'silent' }),
  });
  const policy = dispatchToAgent({
    dispatcher,
    now: () => 0,
    redispatchWaitMs: 100,
    requestTimeoutMs: options.requestTimeoutMs ?? 0,
    timers: t.timers,
  });
  return { dispatcher, policy, timers: t };
}

const noop = async () => {};

describe('the dispatch policy (no sockets: scripted agents, injected timers)', () => {
  it('serves the attempt it is given and sets that attempt’s result', async () => {
    const s = setup();
    const a = scriptedAgent('a', []);
    s.dispatcher.capacity(a.agent);
    const ctx = fakeContext({ target: '/x' });
    ctx.attempt = createAttempt(ctx, { target: '/x?try=1', headers: [['x-try', '1']] });
    await s.policy(ctx, noop);
    expect(a.sent[0]).toMatchObject({ target: '/x?try=1', headers: [['x-try', '1']] });
    expect(ctx.attempt.result?.servedBy).toBe('a');
    expect(ctx.result).toBeUndefined();
    expect(ctx.notes.attempts).toBe(1);
  });

  it('an agent that refuses the request untouched hands the body back: the next agent gets that body', async () => {
    const s = setup();
    const handedBack = Readable.from(['again']);
    const given: unknown[] = [];
    const a = scriptedAgent('a', [
      async (request) => {
        given.push(request.body?.stream);
        // the stream gives the attempt its body back; the error carries none
        request.body?.handBack(handedBack);
        throw new StreamRefusedError('full');
      },
      async (request) => {
        given.push(request.body?.stream);
        return ok('a');
      },
    ]);
    s.dispatcher.capacity(a.agent);
    const ctx = fakeContext({ method: 'POST' });
    const original = Readable.from(['body']);
    ctx.attempt = createAttempt(ctx, { body: original });
    await s.policy(ctx, noop);
    expect(given).toEqual([original, handedBack]);
    expect(ctx.attempt.body.stream).toBe(handedBack);
    expect(ctx.notes.attempts).toBe(2);
  });

  it('once body bytes were read, a lost agent is not retried', async () => {
    const s = setup();
    const lost = new HubError('ERR_HUB_AGENT_LOST', 'agent lost', { retryable: true });
    const a = scriptedAgent('a', [
      async (request) => {
        request.body?.read(4);
        throw lost;
      },
    ]);
    s.dispatcher.capacity(a.agent);
    const ctx = fakeContext({ method: 'POST' });
    ctx.attempt = createAttempt(ctx, { body: Readable.from(['body']) });
    await expect(s.policy(ctx, noop)).rejects.toBe(lost);
    expect(a.sent).toHaveLength(1);
    expect(ctx.attempt.body.consumed).toBe(true);
  });

  it('the request deadline runs on the injected timers from the hand-over, per attempt', async () => {
    const s = setup({ requestTimeoutMs: 1000 });
    const a = scriptedAgent('a', [() => new Promise<ProxyResponse>(() => {})]);
    s.dispatcher.capacity(a.agent);
    const ctx = fakeContext();
    ctx.attempt = createAttempt(ctx);
    const done = s.policy(ctx, noop);
    await vi.waitFor(() => expect(s.timers.pending).toBe(1));
    s.timers.advance(999);
    expect(a.expired).toEqual([]);
    s.timers.advance(1);
    await expect(done).rejects.toMatchObject({ code: 'ERR_HUB_UPSTREAM_TIMEOUT' });
    expect(a.expired).toEqual([1000]);
    expect(s.timers.pending).toBe(0);
  });

  it('outside an attempt it is a bug, not a request to serve', async () => {
    const s = setup();
    await expect(s.policy(fakeContext(), noop)).rejects.toMatchObject({ code: 'ERR_HUB_INTERNAL' });
  });
});
