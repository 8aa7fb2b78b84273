import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createPolicyEngine,
  loadPolicyFile,
  parsePolicyText,
  savePolicyFile,
  validatePolicy,
} from '../../src/policy/index.js';
import { fakeClock } from './fake-context.js';
import { admittedOf } from './run-policies.js';

describe('validatePolicy', () => {
  it('accepts a full policy and keeps reserved sections untouched', () => {
    const doc = {
      trustedProxies: ['10.0.0.0/8', '::1'],
      access: [
        { name: 'a', action: 'deny', match: { ip: '1.2.3.4', header: [{ name: 'x', regex: 'a|b' }] } },
      ],
      ratelimits: [
        { name: 'node', limit: 100, window: '1m' },
        { name: 'tb', limit: 5, window: 1, algorithm: 'token-bucket', burst: 10, key: 'header:x-api-key' },
        { name: 'bw', limit: 1_000_000, unit: 'bytes', concurrency: 4 },
      ],
      router: { anything: [1, 2] },
      fallback: [{ x: 1 }],
      shaping: 'opaque',
    };
    const r = validatePolicy(doc);
    expect(r).toEqual({ ok: true, policy: doc });
    if (r.ok) expect(r.policy).not.toBe(doc);
  });

  it('reports every error at once with its path', () => {
    const r = validatePolicy({
      trustedProxies: ['10.0.0.0/40'],
      access: [
        { action: 'block', match: { ip: 'nope', path: 'no-slash', header: { name: 'x', regex: '(' } } },
      ],
      ratelimits: [
        { name: 'ok', limit: 1 },
        { name: 'ok', limit: 1 },
        { name: 'bad', limit: 0, window: 'soon', algorithm: 'leaky', unit: 'bits', key: 'cookie:x' },
        { name: 'bad name!' },
      ],
      extra: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'extra is not a known section (expected one of trustedProxies, paths, access, ratelimits, apps, router, fallback, shaping)',
        'trustedProxies[0] must be an IP address or CIDR',
        'access[0].action must be one of deny, allow',
        'access[0].match.ip must be an IP address or CIDR',
        'access[0].match.path must start with /',
        expect.stringMatching(/^access\[0\]\.match\.header\.regex is not a valid regular expression/),
        'ratelimits[1].name duplicates ratelimits[0].name',
        'ratelimits[2].limit must be a positive integer',
        expect.stringMatching(/^ratelimits\[2\]\.window must be a duration/),
        'ratelimits[2].algorithm must be one of sliding-window, fixed-window, token-bucket',
        'ratelimits[2].unit must be one of requests, bytes',
        expect.stringMatching(/^ratelimits\[2\]\.key must be header:NAME/),
        expect.stringMatching(/^ratelimits\[3\]\.name must be/),
        'ratelimits[3] needs a limit or a concurrency',
      ]),
    );
    expect(r.errors).toHaveLength(14);
  });

  it('refuses non-objects and unknown rule fields', () => {
    expect(validatePolicy([])).toEqual({ ok: false, errors: ['policy must be an object'] });
    const r = validatePolicy({ ratelimits: [{ name: 'x', limit: 1, treshold: 5 }] });
    expect(r.ok ? [] : r.errors).toEqual([
      expect.stringMatching(/^ratelimits\[0\]\.treshold is not a known field/),
    ]);
  });
});

describe('policy files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slime-policy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads YAML and JSON', async () => {
    await writeFile(join(dir, 'p.yaml'), 'ratelimits:\n  - name: node\n    limit: 3\n    window: 1m\n');
    await writeFile(join(dir, 'p.json'), '{"access":[{"action":"deny","match":{"path":"/x"}}]}');
    expect(await loadPolicyFile(join(dir, 'p.yaml'))).toEqual({
      ratelimits: [{ name: 'node', limit: 3, window: '1m' }],
    });
    expect(await loadPolicyFile(join(dir, 'p.json'))).toEqual({
      access: [{ action: 'deny', match: { path: '/x' } }],
    });
  });

  it('throws one error listing every problem', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'ratelimits:\n  - name: a\n    limit: -1\n  - name: b\n    limit: x\n',
    );
    await expect(loadPolicyFile(join(dir, 'bad.yaml'))).rejects.toMatchObject({
      code: 'ERR_HUB_INVALID_POLICY',
      message: expect.stringMatching(
        /ratelimits\[0\]\.limit must be a positive integer[\s\S]*ratelimits\[1\]\.limit/,
      ),
    });
    await expect(loadPolicyFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read policy file/);
  });

  it('reports syntax errors and treats an empty file as an empty policy', () => {
    expect(parsePolicyText('{', 'p.json').ok).toBe(false);
    expect(parsePolicyText('', 'p.yaml')).toEqual({ ok: true, policy: {} });
  });

  it('persistence survives a restart: saved counters aside, the rules come back', async () => {
    const path = join(dir, 'policy.yaml');
    await savePolicyFile(path, { ratelimits: [{ name: 'node', limit: 2 }] });
    expect(await readFile(path, 'utf8')).toContain('name: node');
    const clock = fakeClock();
    const engine = createPolicyEngine({ policy: await loadPolicyFile(path), now: clock.now });
    expect(await admittedOf(engine, 3)).toBe(2);
    await savePolicyFile(join(dir, 'p.json'), engine.current());
    expect(JSON.parse(await readFile(join(dir, 'p.json'), 'utf8'))).toEqual({
      ratelimits: [{ name: 'node', limit: 2 }],
    });
  });
});
