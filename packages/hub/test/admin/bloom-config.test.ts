import { describe, expect, it } from 'vitest';
import { translateBloomAccess, translateBloomRateLimits } from '../../src/policy/index.js';
import { admittedOf, send, statusOf } from '../policy/run-policies.js';
import { answer, startTestAdmin } from './start-admin.js';

const ACCESS = [
  { type: 'header', api: '/api/v1/core/', key: 'remote_addr', value: '10.10.10.101', access: 'deny' },
  { type: 'param', api: '/api/v1/core/', key: 'account_id', value: '1234', access: 'deny' },
];

const RATES = [
  { type: 'node', threshold: '50' },
  { type: 'api', api: '/api/v1/core/', threshold: '20' },
  { type: 'param', api: '/api/v1/core/', key: 'account_id', value: '1057', threshold: '10' },
  { type: 'header', api: '/api/v1/core/', key: 'remote_addr', value: '10.10.10.101', threshold: 5 },
];

describe('BloomGateway translation', () => {
  it('access rules become deny rules on the path prefix', () => {
    const t = translateBloomAccess(ACCESS);
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.rules.map((r) => [r.action, r.match])).toEqual([
      ['deny', { pathPrefix: '/api/v1/core/', ip: '10.10.10.101' }],
      ['deny', { pathPrefix: '/api/v1/core/', param: { name: 'account_id', value: '1234' } }],
    ]);
  });

  it('rate-limiter rules become per-minute limits, names stable across posts', () => {
    const a = translateBloomRateLimits(RATES);
    const b = translateBloomRateLimits(RATES);
    expect(a).toEqual(b);
    if (!a.ok) throw new Error('translation failed');
    expect(a.rules.map(({ name: _n, ...r }) => r)).toEqual([
      { limit: 50, window: '1m' },
      { limit: 20, window: '1m', match: { pathPrefix: '/api/v1/core/' } },
      {
        limit: 10,
        window: '1m',
        match: { pathPrefix: '/api/v1/core/' },
        key: 'param:account_id',
        value: '1057',
      },
      { limit: 5, window: '1m', match: { pathPrefix: '/api/v1/core/' }, key: 'ip', value: '10.10.10.101' },
    ]);
  });

  it('reports every bad rule with its index', () => {
    const t = translateBloomRateLimits([
      { type: 'node', threshold: '0' },
      { type: 'cookie', threshold: 1 },
      3,
    ]);
    expect(t.ok ? [] : t.errors).toEqual([
      '[0].threshold must be a positive integer',
      '[1].type must be node, api, header or param',
      '[2] must be an object',
    ]);
    expect(translateBloomAccess({}).ok).toBe(false);
  });
});

describe('POST /update/config', () => {
  it('replaces the access section and keeps the others', async () => {
    await using admin = await startTestAdmin({ ratelimits: [{ name: 'node', limit: 100 }] });
    const res = await admin.call('POST', '/update/config?type=plugin&name=access&phase=access', {
      body: JSON.stringify(ACCESS),
    });
    expect(res.status).toBe(200);
    expect(admin.engine.current().ratelimits).toEqual([{ name: 'node', limit: 100 }]);
    expect(statusOf(await send(admin.engine, { target: '/api/v1/core/x', ip: '10.10.10.101' }))).toBe(403);
    expect(statusOf(await send(admin.engine, { target: '/api/v1/core/x?account_id=1234' }))).toBe(403);
    expect(statusOf(await send(admin.engine, { target: '/api/v1/core/x?account_id=1' }))).toBe(200);
    expect(statusOf(await send(admin.engine, { target: '/other', ip: '10.10.10.101' }))).toBe(200);
  });

  it('replaces the rate limits; the thresholds apply', async () => {
    await using admin = await startTestAdmin();
    const res = await admin.call('POST', '/update/config?type=plugin&name=ratelimiter&phase=access', {
      body: JSON.stringify(RATES),
    });
    expect(res.status).toBe(200);
    expect((await answer(res)).ratelimits).toHaveLength(4);
    expect(await admittedOf(admin.engine, 7, { target: '/api/v1/core/', ip: '10.10.10.101' })).toBe(5);
    expect(await admittedOf(admin.engine, 12, { target: '/api/v1/core/?account_id=1057' })).toBe(10);
    // posting the same rules again keeps the counters
    await admin.call('POST', '/update/config?type=plugin&name=ratelimiter&phase=access', {
      body: JSON.stringify(RATES),
    });
    expect(await admittedOf(admin.engine, 1, { target: '/api/v1/core/?account_id=1057' })).toBe(0);
  });

  it('400 for unknown plugins, wrong phase, bad JSON and bad rules; the policy is unchanged', async () => {
    await using admin = await startTestAdmin();
    const post = (q: string, body: string) => admin.call('POST', `/update/config?${q}`, { body });
    expect((await post('type=plugin&name=fallback&phase=access', '[]')).status).toBe(400);
    expect((await post('type=plugin&name=router&phase=error', '[]')).status).toBe(400);
    expect((await post('type=plugin&name=nope&phase=access', '[]')).status).toBe(400);
    expect((await post('type=plugin&name=access&phase=error', '[]')).status).toBe(400);
    expect((await post('type=plugin&name=access&phase=access', '[{')).status).toBe(400);
    const bad = await post(
      'type=plugin&name=access&phase=access',
      JSON.stringify([{ type: 'header', access: 'maybe' }]),
    );
    expect(bad.status).toBe(400);
    expect((await answer(bad)).errors).toContain('[0].access must be deny or allow');
    expect(admin.engine.current()).toEqual({});
  });
});
