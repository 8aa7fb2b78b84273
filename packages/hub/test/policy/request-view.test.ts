import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestAbort } from '../../src/pipeline/request-abort.js';
import { createPolicyEngine } from '../../src/policy/index.js';
import { parseIp } from '../../src/policy/ip.js';
import { headerValues, normalizePath, viewOf } from '../../src/policy/request-view.js';
import { type FakeContext, fakeContext } from './fake-context.js';
import { send, statusOf } from './run-policies.js';

/** normalizePath without its fast path: what every path went through before it. */
function slowNormalize(path: string): string {
  let p = `/${path}`.replace(/\/{2,}/g, '/');
  try {
    p = new URL(p, 'http://h').pathname;
  } catch {}
  try {
    p = decodeURI(p);
  } catch {}
  return p.replace(/\/{2,}/g, '/');
}

describe('normalizePath', () => {
  it('gives what the URL parser gives, fast path or not', () => {
    const piece = fc.constantFrom(
      ..."abcXYZ019-._~!$&'()*+,;=:@/".split(''),
      '.',
      '..',
      '/.',
      '/..',
      '//',
      '%2e',
      '%2F',
      '%61',
      // characters the URL parser escapes, rewrites or stops at
      ...'%\\ "<{|^`[é#\t'.split(''),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.boolean(), (pieces, slash) => {
        const path = `${slash ? '/' : ''}${pieces.join('')}`;
        expect(normalizePath(path), JSON.stringify(path)).toBe(slowNormalize(path));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['/api/v1/users', '/api/v1/users'],
    ["/a:b@c/!$&'()*+,;=~-_.x", "/a:b@c/!$&'()*+,;=~-_.x"],
    ['/a/../admin', '/admin'],
    ['/a/./b', '/a/b'],
    ['//admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/.well-known/x', '/.well-known/x'],
  ])('%s -> %s', (path, want) => {
    expect(normalizePath(path)).toBe(want);
    expect(slowNormalize(path)).toBe(want);
  });
});

describe('headerValues', () => {
  it('returns every value of a repeated field, in order, names in any case', () => {
    const raw = ['Host', 'h', 'X-Tag', 'a', 'accept', '*/*', 'x-tag', 'b, c', 'X-TAG', 'd'];
    expect(headerValues(raw, 'x-tag')).toEqual(['a', 'b, c', 'd']);
    expect(headerValues(raw, 'host')).toEqual(['h']);
    expect(headerValues(raw, 'x-ta')).toEqual([]);
    expect(headerValues([], 'x-tag')).toEqual([]);
  });

  it('a header rule matches each repeated field separately, whatever the case of its name', async () => {
    const engine = createPolicyEngine({
      policy: {
        access: [{ name: 'no-b', action: 'deny', match: { header: { name: 'x-tag', value: 'b' } } }],
      },
    });
    expect(statusOf(await send(engine, { headers: { 'X-Tag': ['a', 'b'] } }))).toBe(403);
    expect(statusOf(await send(engine, { headers: { 'X-TAG': 'b' } }))).toBe(403);
    // one field "a, b" is not a field "b"
    expect(statusOf(await send(engine, { headers: { 'x-tag': 'a, b' } }))).toBe(200);
  });
});

describe('viewOf ip', () => {
  it('parses each request its own address when consecutive requests differ', () => {
    for (const ip of ['10.0.0.1', '10.0.0.1', '2001:db8::1', '10.0.0.2', 'not an ip', '10.0.0.2']) {
      const ctx = fakeContext({ ip });
      expect(viewOf(ctx).ip).toBe(parseIp(ip));
      expect(viewOf(ctx).ipText).toBe(ip);
    }
  });
});

describe('rate limits and the AbortSignal', () => {
  function counted(ip: string): { ctx: FakeContext; reads: () => number } {
    const ctx = fakeContext({ ip });
    let reads = 0;
    const real = ctx.signal;
    Object.defineProperty(ctx, 'signal', {
      get() {
        reads++;
        return real;
      },
    });
    Object.defineProperty(ctx, 'abortLike', { value: new RequestAbort() });
    return { ctx, reads: () => reads };
  }

  it('a request that passes makes no AbortSignal (the hub makes one on first read)', async () => {
    const engine = createPolicyEngine({
      policy: { ratelimits: [{ name: 'ip', key: 'ip', limit: 10 }] },
    });
    const { ctx, reads } = counted('10.1.1.1');
    expect(statusOf(await send(engine, ctx))).toBe(200);
    expect(reads()).toBe(0);
  });

  it('a concurrency slot is still freed when the client left during the request', async () => {
    const engine = createPolicyEngine({
      policy: { ratelimits: [{ name: 'one', concurrency: 1 }] },
    });
    const first = counted('10.1.1.2');
    (first.ctx.abortLike as RequestAbort).abort(new Error('client went away'));
    expect(statusOf(await send(engine, first.ctx))).toBe(200);
    // freed at once, not only when the response closes
    expect(statusOf(await send(engine, counted('10.1.1.3').ctx))).toBe(200);
  });
});

describe('viewOf caching', () => {
  it('keeps the view on the context, and rebuilds it when the scope changes', () => {
    const ctx = fakeContext({ target: '/a/../b', ip: '10.0.0.9' });
    const first = viewOf(ctx);
    expect(ctx.policyView).toBe(first);
    expect(viewOf(ctx)).toBe(first);
    (ctx as { scope?: string }).scope = 'gpu';
    const second = viewOf(ctx);
    expect(second).not.toBe(first);
    expect(second.scope).toBe('gpu');
    expect(second.path).toBe('/b');
  });
});
