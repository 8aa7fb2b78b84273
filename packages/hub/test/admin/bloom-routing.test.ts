import { describe, expect, it } from 'vitest';
import { translateBloomFallback, translateBloomRouter } from '../../src/routing/bloom-routing.js';
import { createFallbackSection } from '../../src/routing/fallback-section.js';
import { createRouterSection } from '../../src/routing/router-section.js';
import { fakeContext } from '../policy/fake-context.js';
import { answer, startTestAdmin } from './start-admin.js';

// BloomGateway's documented examples
const ROUTER = [
  {
    type: 'param',
    api: '/api/v1/core/',
    key: 'account_id',
    value: '1057',
    endpoint: 'upstream.abtest.elb.amazonaws:80',
  },
  {
    type: 'header',
    api: '/api/v1/core/',
    key: 'api_key',
    value_matches: '1[0-9]{4}',
    endpoint: 'upstream.groupA.elb.amazonaws:80',
  },
];
const FALLBACK = [
  {
    endpoints: [
      {
        '2': {
          headers: {},
          params: { fallback_data_center_endpoint: 'true' },
          name: 'west.elb.amazonaws:80',
        },
      },
      {
        '1': {
          headers: { 'x-dc': 'cache' },
          params: { fallback_cache_endpoint: 'true' },
          name: 'cache.elb.amazonaws:80',
        },
      },
    ],
    api: '/api/v1/core/',
    errors: ['500', '502', '503', '504'],
    key: '/api/v1/core/_500_502_503_504',
  },
];

const sections = { router: createRouterSection(), fallback: createFallbackSection() };

describe('BloomGateway router and fallback translation', () => {
  it('router rules: value and anchored value_matches, host:port endpoints as http URLs', () => {
    const t = translateBloomRouter(ROUTER);
    if (!t.ok) throw new Error(t.errors.join('\n'));
    expect(t.rules.map(({ name: _n, ...r }) => r)).toEqual([
      {
        match: { pathPrefix: '/api/v1/core/', param: { name: 'account_id', value: '1057' } },
        to: 'http://upstream.abtest.elb.amazonaws',
      },
      {
        match: { pathPrefix: '/api/v1/core/', header: { name: 'api_key', regex: '1[0-9]{4}' } },
        to: 'http://upstream.groupa.elb.amazonaws',
      },
    ]);
    expect(translateBloomRouter([{ ...ROUTER[0], endpoint: 'gpu' }])).toMatchObject({
      ok: true,
      rules: [{ to: 'gpu' }],
    });
  });

  it('fallback rules: endpoints ordered by their number, statuses as numbers, key as the name', () => {
    const t = translateBloomFallback(FALLBACK);
    if (!t.ok) throw new Error(t.errors.join('\n'));
    expect(t.rules).toEqual([
      {
        name: '/api/v1/core/_500_502_503_504',
        match: { pathPrefix: '/api/v1/core/' },
        on: [500, 502, 503, 504],
        endpoints: [
          {
            to: 'http://cache.elb.amazonaws',
            headers: { 'x-dc': 'cache' },
            params: { fallback_cache_endpoint: 'true' },
          },
          { to: 'http://west.elb.amazonaws', params: { fallback_data_center_endpoint: 'true' } },
        ],
      },
    ]);
  });

  it('reports every bad rule with its index', () => {
    const r = translateBloomRouter([
      { type: 'cookie' },
      { type: 'header', key: 'k', value: 'a', value_matches: 'b', endpoint: 'h:1' },
      { type: 'param', key: 'k', value_matches: '(', endpoint: 'h:1' },
      { type: 'param', key: 'k', value: 'v', endpoint: 'h:1/path' },
    ]);
    expect(r.ok ? [] : r.errors).toEqual([
      '[0].type must be header or param',
      '[1] needs exactly one of value and value_matches',
      expect.stringMatching(/^\[2\]\.value_matches is not a valid regular expression/),
      '[3].endpoint must be host:port, an http(s) URL or an agent group',
    ]);
    const f = translateBloomFallback([{ errors: ['200', 'x'], endpoints: [] }, 1]);
    expect(f.ok ? [] : f.errors).toEqual([
      '[0].errors[0] must be a status 400-599',
      '[0].errors[1] must be a status 400-599',
      '[0].endpoints must be a non-empty list',
      '[1] must be an object',
    ]);
  });
});

describe('POST /update/config for router and fallback', () => {
  it('applies the router rules (phase=access); the anchored regex holds', async () => {
    await using admin = await startTestAdmin({ access: [] }, {}, sections);
    const res = await admin.call('POST', '/update/config?type=plugin&name=router&phase=access', {
      body: JSON.stringify(ROUTER),
    });
    expect(res.status).toBe(200);
    expect((await answer(res)).router).toHaveLength(2);
    expect(admin.engine.current().access).toEqual([]);
    const route = async (req: Parameters<typeof fakeContext>[0]) => {
      const ctx = fakeContext(req);
      await admin.engine.slots().router[0]!(ctx, async () => {});
      return ctx.route;
    };
    expect(await route({ target: '/api/v1/core/x?account_id=1057' })).toEqual({
      kind: 'url',
      url: 'http://upstream.abtest.elb.amazonaws/',
    });
    expect((await route({ target: '/api/v1/core/x', headers: { api_key: '12345' } })).kind).toBe('url');
    expect(await route({ target: '/api/v1/core/x', headers: { api_key: 'x123456' } })).toEqual({
      kind: 'agents',
    });
  });

  it('applies the fallback rules (phase=error) and rejects a bad section without changing anything', async () => {
    await using admin = await startTestAdmin({}, {}, sections);
    const ok = await admin.call('POST', '/update/config?type=plugin&name=fallback&phase=error', {
      body: JSON.stringify(FALLBACK),
    });
    expect(ok.status).toBe(200);
    expect(admin.engine.current().fallback).toHaveLength(1);
    const bad = await admin.call('PUT', '/policy', {
      body: JSON.stringify({ router: [{ to: 'ftp://nope' }], fallback: [{ on: [200], endpoints: [] }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect((await answer(bad)).errors).toEqual([
      'router[0].to must be "*", an agent group (letters, digits, _ . : @ -) or an http(s) URL',
      'fallback[0].on[0] must be a status 400-599, "no-agent" or "timeout"',
      'fallback[0].endpoints must be a non-empty list',
    ]);
    expect(admin.engine.current().fallback).toHaveLength(1);
    expect(admin.engine.current().router).toBeUndefined();
  });
});
