import { describe, expect, it } from 'vitest';
import { compose } from '../../src/pipeline/compose.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { RouterRule } from '../../src/routing/router-config.js';
import { compileRouter, createRouterSection } from '../../src/routing/router-section.js';
import { fakeContext } from '../policy/fake-context.js';

async function routeOf(rules: RouterRule[], req: Parameters<typeof fakeContext>[0], random = () => 0.5) {
  const ctx = fakeContext(req);
  await compose([compileRouter(rules, random), async () => {}])(ctx);
  return ctx;
}

describe('router rules', () => {
  const AB: RouterRule[] = [
    { name: 'ab', match: { param: { name: 'account_id', value: '1057' } }, to: 'abtest' },
    { match: { header: { name: 'api_key', regex: '1[0-9]{4}' } }, to: 'http://group-a.example:8080' },
  ];

  it('routes by param value to an agent group', async () => {
    const ctx = await routeOf(AB, { target: '/api?account_id=1057' });
    expect(ctx.route).toEqual({ kind: 'agents', scope: 'abtest' });
    expect(ctx.scope).toBe('abtest');
    expect(ctx.notes.route).toBe('ab');
  });

  it('routes by an anchored header regex to a URL', async () => {
    expect((await routeOf(AB, { headers: { API_KEY: '12345' } })).route).toEqual({
      kind: 'url',
      url: 'http://group-a.example:8080/',
    });
    // anchored: a longer value that merely contains a match does not match
    expect((await routeOf(AB, { headers: { api_key: 'x123456' } })).route).toEqual({ kind: 'agents' });
    expect((await routeOf(AB, { headers: { api_key: '123456' } })).route).toEqual({ kind: 'agents' });
  });

  it('first matching rule wins, in order', async () => {
    const rules: RouterRule[] = [
      { match: { pathPrefix: '/a' }, to: 'first' },
      { match: { pathPrefix: '/a/b' }, to: 'second' },
    ];
    expect((await routeOf(rules, { target: '/a/b' })).route).toEqual({ kind: 'agents', scope: 'first' });
  });

  it('"*" sends to any agent, whatever Slime-Scope asked', async () => {
    const ctx = await routeOf([{ to: '*' }], { scope: 'asked' });
    expect(ctx.route).toEqual({ kind: 'agents' });
    expect(ctx.scope).toBeUndefined();
  });

  it('a weighted split of 10,000 keys lands within 1 point of the weights, sticky per key', async () => {
    const split: RouterRule[] = [
      {
        name: 'canary',
        to: [
          { to: 'stable', weight: 90 },
          { to: 'canary', weight: 10 },
        ],
        sticky: 'header:x-user',
      },
    ];
    const policy = compose([
      compileRouter(split, () => {
        throw new Error('no randomness with a key');
      }),
      async () => {},
    ]);
    const seen = new Map<string, string | undefined>();
    let canary = 0;
    for (let i = 0; i < 10_000; i++) {
      const ctx = fakeContext({ headers: { 'x-user': `user-${i}` } });
      await policy(ctx);
      const scope = ctx.route.kind === 'agents' ? ctx.route.scope : undefined;
      seen.set(`user-${i}`, scope);
      if (scope === 'canary') canary++;
    }
    expect(Math.abs(canary / 10_000 - 0.1)).toBeLessThan(0.01);
    for (let i = 0; i < 10_000; i += 97) {
      const ctx = fakeContext({ headers: { 'x-user': `user-${i}` } });
      await policy(ctx);
      expect(ctx.route.kind === 'agents' ? ctx.route.scope : undefined).toBe(seen.get(`user-${i}`));
    }
  });

  it('sticky by param and by IP; without a key the injected randomness decides', async () => {
    const by = (sticky: string): RouterRule[] => [
      {
        to: [
          { to: 'a', weight: 50 },
          { to: 'b', weight: 50 },
        ],
        sticky,
      },
    ];
    const a1 = await routeOf(by('param:uid'), { target: '/?uid=42' }, () => 0);
    const a2 = await routeOf(by('param:uid'), { target: '/?uid=42' }, () => 0.99);
    expect(a1.route).toEqual(a2.route);
    const i1 = await routeOf(by('ip'), { ip: '10.0.0.7' });
    const i2 = await routeOf(by('ip'), { ip: '10.0.0.7' });
    expect(i1.route).toEqual(i2.route);
    expect((await routeOf(by('param:uid'), {}, () => 0.1)).route).toEqual({ kind: 'agents', scope: 'a' });
    expect((await routeOf(by('param:uid'), {}, () => 0.9)).route).toEqual({ kind: 'agents', scope: 'b' });
  });

  it('a zero weight never receives traffic', async () => {
    const rules: RouterRule[] = [
      {
        to: [
          { to: 'a', weight: 0 },
          { to: 'b', weight: 1 },
        ],
      },
    ];
    for (const r of [0, 0.5, 0.999999])
      expect((await routeOf(rules, {}, () => r)).route).toEqual({ kind: 'agents', scope: 'b' });
  });
});

describe('router section', () => {
  it('reports every problem with its path and keeps the old rules', () => {
    const engine = createPolicyEngine({
      sections: { router: createRouterSection() },
      policy: { router: [{ to: 'a' }] },
    });
    expect(() =>
      engine.update({
        router: [
          { to: 'ftp://x' },
          { match: { header: { name: 'k', regex: '(' } }, to: 'http://h:1/p?q=1' },
          { to: [{ to: 'a', weight: 1 }], sticky: 'cookie:x' },
          { to: 'a', sticky: 'ip', extra: 1 },
          {
            to: [
              { to: 'a', weight: 0 },
              { to: 'b', weight: -1 },
            ],
          },
        ],
      }),
    ).toThrow(
      /router\[0\]\.to must be[\s\S]*router\[1\]\.match\.header\.regex is not a valid[\s\S]*router\[1\]\.to must not have a query[\s\S]*router\[2\]\.to a split needs at least two[\s\S]*router\[2\]\.sticky must be ip[\s\S]*router\[3\]\.extra is not a known field[\s\S]*router\[3\]\.sticky only applies[\s\S]*router\[4\]\.to\[1\]\.weight must be a number >= 0/,
    );
    expect(engine.current().router).toEqual([{ to: 'a' }]);
    expect(() => engine.update({ router: { to: 'a' } })).toThrow(/router must be a list of rules/);
  });

  it('runs the rules in force in the router slot', async () => {
    const engine = createPolicyEngine({
      sections: { router: createRouterSection() },
      policy: { router: [{ to: 'one' }] },
    });
    const run = compose([...engine.slots().router, async () => {}]);
    const a = fakeContext({});
    await run(a);
    expect(a.scope).toBe('one');
    engine.update({ router: [{ to: 'two' }] });
    const b = fakeContext({});
    await run(b);
    expect(b.scope).toBe('two');
    engine.update({});
    const c = fakeContext({});
    await run(c);
    expect(c.route).toEqual({ kind: 'agents' });
  });
});
