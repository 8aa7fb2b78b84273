import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { HubError } from '../../src/errors.js';
import type { Attempt, Downstream, ProxyResponse } from '../../src/pipeline/context.js';
import type { FallbackRule } from '../../src/routing/fallback-config.js';
import { type AttemptOutcome, compileFallback } from '../../src/routing/fallback-policy.js';
import { manualTimers } from '../pipeline/manual-timers.js';
import { type FakeRequest, fakeContext } from '../policy/fake-context.js';

function response(status: number, servedBy = 'agent-1'): ProxyResponse & { discarded: string[] } {
  const discarded: string[] = [];
  return {
    status,
    headers: [],
    servedBy,
    discarded,
    body: {
      pipe: async () => {},
      discard: (reason) => void discarded.push(reason),
      readAll: async () => new Uint8Array(),
      failure: null,
    },
  };
}

/**
 * The fallback policy with a downstream that answers from a script (one entry per try: a status,
 * an error, or 'hang' for a try that waits for its signal), recording every attempt it got.
 */
function setup(
  rule: Partial<FallbackRule>,
  script: Array<number | HubError | 'hang'>,
  request: FakeRequest = {},
) {
  const t = manualTimers();
  const outcomes: AttemptOutcome[] = [];
  const policy = compileFallback(
    [
      {
        on: [503, 'timeout', 'no-agent'],
        endpoints: [{ to: 'backup', headers: { 'x-fallback': '1' }, params: { fb: '1' } }],
        ...rule,
      },
    ],
    { timers: t.timers, onAttempt: (o) => outcomes.push(o) },
  );
  const ctx = fakeContext({ target: '/api?a=1', scope: 'main', ...request });
  ctx.upstreamHeaders = [['accept', '*/*']];
  const attempts: Attempt[] = [];
  const bodies: string[] = [];
  const downstream: Downstream = async (c, attempt) => {
    c.attempt = attempt;
    attempts.push(attempt);
    const stream = attempt.body.stream;
    if (stream) {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      bodies.push(Buffer.concat(chunks).toString());
    }
    const step = script.shift();
    if (step === undefined) throw new Error('no more scripted answers');
    if (step === 'hang') {
      await new Promise((_, reject) =>
        attempt.signal.addEventListener('abort', () =>
          reject(new HubError('ERR_HUB_CLIENT_GONE', 'cancelled')),
        ),
      );
    }
    if (step instanceof HubError) throw step;
    attempt.result = response(step as number, `try-${attempts.length}`);
    return attempt.result;
  };
  ctx.downstream = downstream;
  let nextCalls = 0;
  const next = async () => {
    nextCalls++;
  };
  return { policy, ctx, attempts, bodies, outcomes, timers: t, next, nextCalls: () => nextCalls };
}

describe('fallback: a retry interceptor with a fresh attempt per try (no sockets)', () => {
  it('a listed primary answer sends a new attempt to the endpoint; the request itself is unchanged', async () => {
    const s = setup({}, [503, 200]);
    await s.policy(s.ctx, s.next);
    expect(s.nextCalls()).toBe(0);
    expect(s.attempts).toHaveLength(2);
    const [primary, second] = s.attempts as [Attempt, Attempt];
    expect(primary).toMatchObject({ index: 0, target: '/api?a=1', scope: 'main', route: { kind: 'agents' } });
    expect(second).toMatchObject({
      index: 1,
      target: '/api?a=1&fb=1',
      scope: 'backup',
      route: { kind: 'agents', scope: 'backup' },
      headers: [
        ['accept', '*/*'],
        ['x-fallback', '1'],
      ],
    });
    expect(second).not.toBe(primary);
    expect((primary.result as ReturnType<typeof response>).discarded).toEqual([
      'fallback tries another endpoint',
    ]);
    expect(s.ctx.result?.servedBy).toBe('try-2');
    expect(s.ctx.responseHeaders['slime-fallback-attempts']).toBe('1');
    expect(s.outcomes).toEqual(['ok']);
    // the request is what the client sent: nothing to restore
    expect(s.ctx.target).toBe('/api?a=1');
    expect(s.ctx.scope).toBe('main');
    expect(s.ctx.upstreamHeaders).toEqual([['accept', '*/*']]);
    expect(s.timers.pending).toBe(0);
  });

  it('an answer not listed is the response: one attempt only', async () => {
    const s = setup({}, [404]);
    await s.policy(s.ctx, s.next);
    expect(s.attempts).toHaveLength(1);
    expect(s.ctx.result?.status).toBe(404);
    expect(s.ctx.responseHeaders['slime-fallback-attempts']).toBeUndefined();
  });

  it('no rule matches, or a POST without nonIdempotent: next() sends the request once', async () => {
    const unmatched = setup({ match: { path: '/other' } }, []);
    await unmatched.policy(unmatched.ctx, unmatched.next);
    expect(unmatched.nextCalls()).toBe(1);
    expect(unmatched.attempts).toHaveLength(0);
    const post = setup({}, [], { method: 'POST' });
    await post.policy(post.ctx, post.next);
    expect(post.nextCalls()).toBe(1);
    expect(post.ctx.notes.fallback).toBe('method-not-idempotent');
  });

  it('an endpoint past its timeout (injected timers) is cancelled and counts as timeout; the next one answers', async () => {
    const s = setup(
      {
        endpoints: [
          { to: 'slow', timeout: '2s' },
          { to: 'https://backup.example/base', timeout: '1s' },
        ],
      },
      [503, 'hang', 200],
    );
    const done = s.policy(s.ctx, s.next);
    await vi.waitFor(() => expect(s.attempts).toHaveLength(2));
    s.timers.advance(1999);
    expect(s.attempts[1]!.signal.aborted).toBe(false);
    s.timers.advance(1);
    await done;
    expect(s.attempts[1]!.signal.aborted).toBe(true);
    expect(s.outcomes).toEqual(['timeout', 'ok']);
    expect(s.attempts[2]).toMatchObject({
      index: 2,
      route: { kind: 'url', url: 'https://backup.example/base' },
      scope: 'main',
    });
    expect(s.ctx.result?.servedBy).toBe('try-3');
    expect(s.ctx.responseHeaders['slime-fallback-attempts']).toBe('2');
  });

  it('the primary timeout cuts the first attempt only: it counts as timeout, then the endpoint answers', async () => {
    const s = setup({ primaryTimeout: '500ms' }, ['hang', 200]);
    const done = s.policy(s.ctx, s.next);
    await vi.waitFor(() => expect(s.attempts).toHaveLength(1));
    expect(s.attempts[0]!.signal).not.toBe(s.ctx.signal);
    s.timers.advance(500);
    await done;
    expect(s.ctx.signal.aborted).toBe(false);
    expect(s.ctx.result?.servedBy).toBe('try-2');
  });

  it('every endpoint failing returns the last failure as it was', async () => {
    const s = setup({ endpoints: [{ to: 'a' }, { to: 'b' }] }, [
      503,
      new HubError('ERR_HUB_NO_AGENT', 'none'),
      new HubError('ERR_HUB_NO_AGENT', 'none either'),
    ]);
    await expect(s.policy(s.ctx, s.next)).rejects.toMatchObject({
      code: 'ERR_HUB_NO_AGENT',
      message: 'none either',
    });
    expect(s.outcomes).toEqual(['no-agent', 'no-agent']);
    expect(s.ctx.responseHeaders['slime-fallback-attempts']).toBe('2');
  });

  it('the body is replayed to each attempt', async () => {
    const s = setup({}, [503, 200], { method: 'PUT', headers: { 'content-length': '5' } });
    (s.ctx as { body: Readable | null }).body = Readable.from([Buffer.from('hello')]);
    await s.policy(s.ctx, s.next);
    expect(s.bodies).toEqual(['hello', 'hello']);
  });
});
