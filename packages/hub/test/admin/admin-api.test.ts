import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/index.js';
import { createPolicyEngine, loadPolicyFile } from '../../src/policy/index.js';
import { admittedOf } from '../policy/run-policies.js';
import { answer, startTestAdmin } from './start-admin.js';

const json = { 'content-type': 'application/json' };

describe('admin API: authentication and routing', () => {
  it('refuses a missing, wrong or malformed token with 401', async () => {
    await using admin = await startTestAdmin();
    for (const token of [null, 'wrong', '']) {
      const res = await admin.call('GET', '/policy', { token });
      expect(res.status, String(token)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await answer(res)).code).toBe('ERR_HUB_UNAUTHORIZED');
    }
    const basic = await fetch(`${admin.url}/policy`, { headers: { authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
    // unknown paths do not reveal themselves before authentication
    expect((await admin.call('GET', '/nope', { token: null })).status).toBe(401);
  });

  it('404 for unknown paths and 405 with Allow for wrong methods', async () => {
    await using admin = await startTestAdmin();
    expect((await admin.call('GET', '/nope')).status).toBe(404);
    const r = await admin.call('DELETE', '/policy');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD, PUT');
    const b = await admin.call('GET', '/update/config?type=plugin&name=access&phase=access');
    expect(b.status).toBe(405);
  });

  it('extra routes, with or without authentication', async () => {
    await using admin = await startTestAdmin(
      {},
      {
        routes: {
          '/healthz': { auth: false, handler: (_req, res) => void res.end('ok') },
          '/status': (_req, res) => void res.end('status'),
        },
      },
    );
    const h = await admin.call('GET', '/healthz', { token: null });
    expect(await h.text()).toBe('ok');
    expect((await admin.call('GET', '/status', { token: null })).status).toBe(401);
    expect(await (await admin.call('GET', '/status')).text()).toBe('status');
  });

  it('validates its options', () => {
    const engine = createPolicyEngine();
    expect(() => createAdminServer({ token: '', engine })).toThrow(/token/);
    expect(() => createAdminServer({ token: 't', engine, port: 70000 })).toThrow(RangeError);
    expect(() => createAdminServer({ token: 't', engine: {} as never })).toThrow(/engine/);
    expect(() => createAdminServer({ token: 't', engine, routes: { '/policy': () => {} } })).toThrow(
      /built in/,
    );
  });

  it('close() is idempotent', async () => {
    const engine = createPolicyEngine();
    const server = createAdminServer({ token: 't', engine, port: 0 });
    await server.listen();
    const a = server.close();
    expect(server.close()).toBe(a);
    await a;
    expect(server.address()).toBeUndefined();
  });
});

describe('admin API: policy', () => {
  it('GET returns the policy in force', async () => {
    const policy = { ratelimits: [{ name: 'node', limit: 5 }], router: { custom: true } };
    await using admin = await startTestAdmin(policy);
    const res = await admin.call('GET', '/policy');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(policy);
  });

  it('PUT validates, applies, persists, and keeps counters of unchanged rules', async () => {
    await using admin = await startTestAdmin({ ratelimits: [{ name: 'node', limit: 3 }] });
    expect(await admittedOf(admin.engine, 2)).toBe(2);
    const next = {
      ratelimits: [
        { name: 'node', limit: 3 },
        { name: 'x', match: { path: '/x' }, limit: 1 },
      ],
    };
    const res = await admin.call('PUT', '/policy', { body: JSON.stringify(next), headers: json });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(next);
    expect(admin.engine.current()).toEqual(next);
    // the node counter carried over: one request left
    expect(await admittedOf(admin.engine, 2)).toBe(1);
    expect(await loadPolicyFile(admin.policyPath)).toEqual(next);
  });

  it('PUT accepts YAML', async () => {
    await using admin = await startTestAdmin();
    const res = await admin.call('PUT', '/policy', {
      body: 'access:\n  - action: deny\n    match: { path: /x }\n',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(res.status).toBe(200);
    expect(admin.engine.current()).toEqual({ access: [{ action: 'deny', match: { path: '/x' } }] });
  });

  it('PUT with bad input answers 400 with every error and leaves the old policy in force and on disk', async () => {
    const old = { ratelimits: [{ name: 'node', limit: 3 }] };
    await using admin = await startTestAdmin(old);
    await writeFile(admin.policyPath, 'ratelimits:\n  - name: node\n    limit: 3\n');
    const bad = {
      ratelimits: [
        { name: 'node', limit: 0 },
        { name: 'b', limit: 1, window: 'x' },
      ],
    };
    const res = await admin.call('PUT', '/policy', { body: JSON.stringify(bad), headers: json });
    expect(res.status).toBe(400);
    const body = await answer(res);
    expect(body.code).toBe('ERR_HUB_INVALID_POLICY');
    expect(body.errors).toEqual([
      'ratelimits[0].limit must be a positive integer',
      expect.stringMatching(/^ratelimits\[1\]\.window must be a duration/),
    ]);
    expect(admin.engine.current()).toEqual(old);
    expect(await loadPolicyFile(admin.policyPath)).toEqual(old);
    const syntax = await admin.call('PUT', '/policy', { body: '{', headers: json });
    expect(syntax.status).toBe(400);
    expect(
      (await admin.call('PUT', '/policy', { body: 'x', headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(415);
  });

  it('refuses bodies over the limit with 413', async () => {
    await using admin = await startTestAdmin({}, { maxBodyBytes: 100 });
    const res = await admin.call('PUT', '/policy', {
      body: JSON.stringify({ access: [], pad: 'x'.repeat(200) }),
      headers: json,
    });
    expect(res.status).toBe(413);
    expect(admin.engine.current()).toEqual({});
  });

  it('a policy written through the API survives a restart', async () => {
    await using admin = await startTestAdmin();
    const next = { access: [{ action: 'deny', match: { ip: '10.0.0.0/8' } }] };
    expect((await admin.call('PUT', '/policy', { body: JSON.stringify(next), headers: json })).status).toBe(
      200,
    );
    expect(await readFile(admin.policyPath, 'utf8')).toMatch(/10\.0\.0\.0\/8/);
    const restarted = createPolicyEngine({ policy: await loadPolicyFile(admin.policyPath) });
    expect(restarted.current()).toEqual(next);
  });

  it('concurrent PUTs are applied one after the other and the file matches the last one', async () => {
    await using admin = await startTestAdmin();
    const docs = Array.from({ length: 5 }, (_, i) => ({ ratelimits: [{ name: `r${i}`, limit: i + 1 }] }));
    const results = await Promise.all(
      docs.map((d) => admin.call('PUT', '/policy', { body: JSON.stringify(d), headers: json })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await loadPolicyFile(admin.policyPath)).toEqual(admin.engine.current());
  });
});
