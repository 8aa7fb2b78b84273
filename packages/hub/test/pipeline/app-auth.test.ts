import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileApps } from '../../src/apps/app-directory.js';
import { appAuth } from '../../src/pipeline/policies/app-auth.js';
import { fakeContext } from '../policy/fake-context.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const apps = compileApps([
  { name: 'billing', keys: [{ hash: sha('billing-key') }], maxPriority: 'high' },
  { name: 'batch', keys: [{ hash: sha('batch-key') }] },
]);

/** Runs the policy; resolves with whether next() ran. */
async function run(policy: ReturnType<typeof appAuth>, ctx: ReturnType<typeof fakeContext>) {
  let passed = false;
  await policy(ctx, async () => {
    passed = true;
  });
  return passed;
}

describe('app auth (no sockets)', () => {
  it('nothing configured: every request passes as default’s, Slime-Priority capped at normal', async () => {
    const ctx = fakeContext({ headers: { 'slime-priority': 'HIGH' } });
    expect(await run(appAuth({}), ctx)).toBe(true);
    expect(ctx.app).toBeUndefined();
    expect(ctx.priority).toBeUndefined();
    const low = fakeContext({ headers: { 'slime-priority': 'low' } });
    await run(appAuth({}), low);
    expect(low.priority).toBe('low');
  });

  it('a Slime-Priority that is not a priority is 400 ERR_HUB_BAD_REQUEST', async () => {
    await expect(
      run(appAuth({}), fakeContext({ headers: { 'slime-priority': 'urgent' } })),
    ).rejects.toMatchObject({
      code: 'ERR_HUB_BAD_REQUEST',
    });
  });

  it('--appPassword: the right one is default’s, a wrong or missing one is 401 with WWW-Authenticate', async () => {
    const policy = appAuth({ appPassword: 's3cret' });
    const right = fakeContext({ headers: { 'slime-app-password': 's3cret' } });
    expect(await run(policy, right)).toBe(true);
    expect(right.app).toBe('default');
    for (const headers of [{ 'slime-app-password': 'nope' }, {}]) {
      await expect(run(policy, fakeContext({ headers }))).rejects.toMatchObject({
        code: 'ERR_HUB_UNAUTHORIZED',
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="slime"' },
      });
    }
  });

  it('a Bearer app key names the app, is dropped from the upstream headers, and lifts the priority ceiling', async () => {
    const ctx = fakeContext({ headers: { authorization: 'Bearer billing-key', 'slime-priority': 'high' } });
    ctx.upstreamHeaders = [
      ['authorization', 'Bearer billing-key'],
      ['accept', '*/*'],
    ];
    expect(await run(appAuth({ apps: () => apps }), ctx)).toBe(true);
    expect(ctx.app).toBe('billing');
    expect(ctx.priority).toBe('high');
    expect(ctx.upstreamHeaders).toEqual([['accept', '*/*']]);
  });

  it('Slime-App-Key names the app; Authorization then stays for the upstream; an unknown key is 401', async () => {
    const ctx = fakeContext({
      headers: { 'slime-app-key': 'batch-key', authorization: 'Basic dXNlcg==', 'slime-priority': 'high' },
    });
    ctx.upstreamHeaders = [['authorization', 'Basic dXNlcg==']];
    await run(appAuth({ apps: () => apps }), ctx);
    expect(ctx.app).toBe('batch');
    expect(ctx.priority).toBeUndefined(); // asked high, capped at batch's normal
    expect(ctx.upstreamHeaders).toEqual([['authorization', 'Basic dXNlcg==']]);
    await expect(
      run(appAuth({ apps: () => apps }), fakeContext({ headers: { 'slime-app-key': 'other' } })),
    ).rejects.toMatchObject({ code: 'ERR_HUB_UNAUTHORIZED' });
    await expect(run(appAuth({ apps: () => apps }), fakeContext())).rejects.toMatchObject({
      code: 'ERR_HUB_UNAUTHORIZED',
    });
  });
});
