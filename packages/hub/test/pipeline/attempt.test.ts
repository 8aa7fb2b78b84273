import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAttempt, createAttemptBody } from '../../src/pipeline/attempt.js';
import { fakeContext } from '../policy/fake-context.js';

describe('createAttempt (one try of a request)', () => {
  it('starts from the request as it stands, with a headers list of its own', () => {
    const ctx = fakeContext({ target: '/a?x=1', scope: 'eu' });
    ctx.upstreamHeaders = [['accept', 'text/plain']];
    const attempt = createAttempt(ctx);
    expect(attempt).toMatchObject({
      index: 0,
      route: { kind: 'agents' },
      scope: 'eu',
      target: '/a?x=1',
      headers: [['accept', 'text/plain']],
      signal: ctx.signal,
    });
    expect(attempt.body.stream).toBeNull();
    attempt.headers.push(['traceparent', '00-x']);
    expect(ctx.upstreamHeaders).toEqual([['accept', 'text/plain']]);
  });

  it('a route with a scope picks it; an explicit scope (even none) beats the request’s', () => {
    const ctx = fakeContext({ scope: 'eu' });
    expect(createAttempt(ctx, { route: { kind: 'agents', scope: 'us' } }).scope).toBe('us');
    expect(createAttempt(ctx, { route: { kind: 'agents' }, scope: undefined }).scope).toBeUndefined();
    expect(createAttempt(ctx, { route: { kind: 'url', url: 'http://x' } }).scope).toBe('eu');
  });

  it('overrides index, target, headers, body and signal without touching the request', () => {
    const ctx = fakeContext({ target: '/a' });
    const body = Readable.from(['x']);
    const signal = new AbortController().signal;
    const attempt = createAttempt(ctx, {
      index: 2,
      target: '/b',
      headers: [['x-try', '2']],
      body,
      signal,
    });
    expect(attempt).toMatchObject({ index: 2, target: '/b', headers: [['x-try', '2']], signal });
    expect(attempt.body.stream).toBe(body);
    expect(ctx.target).toBe('/a');
    expect(ctx.signal).not.toBe(signal);
  });
});

describe('createAttemptBody', () => {
  it('is unconsumed until a read is reported; a handed-back stream replaces it', () => {
    const first = Readable.from(['a']);
    const body = createAttemptBody(first);
    expect(body.consumed).toBe(false);
    const again = Readable.from(['a']);
    body.handBack(again);
    expect(body.stream).toBe(again);
    expect(body.consumed).toBe(false);
    body.read(1);
    expect(body.consumed).toBe(true);
  });
});
