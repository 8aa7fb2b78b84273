import { describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyDoc } from '../../src/policy/index.js';
import { send, statusOf } from './run-policies.js';

const engineWith = (policy: PolicyDoc) => createPolicyEngine({ policy });

describe('access rules', () => {
  it('deny by exact path and by prefix; the 403 does not echo the rule', async () => {
    const e = engineWith({
      access: [
        { name: 'secret-rule-name', action: 'deny', match: { path: '/admin' } },
        { action: 'deny', match: { pathPrefix: '/internal/' } },
      ],
    });
    const denied = await send(e, { target: '/admin' });
    expect(statusOf(denied)).toBe(403);
    if (!denied.ok) {
      expect(denied.err.code).toBe('ERR_HUB_FORBIDDEN');
      expect(denied.err.message).not.toMatch(/secret-rule-name|admin/);
    }
    expect(denied.ctx.notes.accessRule).toBe('secret-rule-name');
    expect(statusOf(await send(e, { target: '/admin/x' }))).toBe(200);
    expect(statusOf(await send(e, { target: '/internal/a/b' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/internal' }))).toBe(200);
  });

  it('normalises paths so dot segments, double slashes and escapes cannot dodge a rule', async () => {
    const e = engineWith({ access: [{ action: 'deny', match: { pathPrefix: '/admin' } }] });
    for (const target of ['/x/../admin', '//admin', '/%61dmin', '/./admin/', '/x/%2e%2e/admin']) {
      expect(statusOf(await send(e, { target })), target).toBe(403);
    }
  });

  it('matches methods case-insensitively', async () => {
    const e = engineWith({ access: [{ action: 'deny', match: { method: ['delete', 'PUT'] } }] });
    expect(statusOf(await send(e, { method: 'DELETE' }))).toBe(403);
    expect(statusOf(await send(e, { method: 'PUT' }))).toBe(403);
    expect(statusOf(await send(e, { method: 'GET' }))).toBe(200);
  });

  it('matches header names case-insensitively, by exact value or anchored regex', async () => {
    const e = engineWith({
      access: [
        { action: 'deny', match: { header: { name: 'X-Api-Key', value: 'bad' } } },
        { action: 'deny', match: { header: { name: 'user-agent', regex: 'curl/.*' } } },
      ],
    });
    expect(statusOf(await send(e, { headers: { 'x-api-key': 'bad' } }))).toBe(403);
    expect(statusOf(await send(e, { headers: { 'X-API-KEY': 'bad' } }))).toBe(403);
    expect(statusOf(await send(e, { headers: { 'x-api-key': 'bad2' } }))).toBe(200);
    expect(statusOf(await send(e, { headers: { 'User-Agent': 'curl/8.0' } }))).toBe(403);
    // anchored: the regex must cover the whole value
    expect(statusOf(await send(e, { headers: { 'User-Agent': 'not-curl/8.0' } }))).toBe(200);
  });

  it('matches any occurrence of a repeated query parameter', async () => {
    const e = engineWith({
      access: [{ action: 'deny', match: { param: { name: 'account_id', value: '1234' } } }],
    });
    expect(statusOf(await send(e, { target: '/?account_id=1234' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/?account_id=1&account_id=1234' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/?account_id=1234&account_id=1234' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/?account_id=12345' }))).toBe(200);
  });

  it('param regex and presence-only conditions', async () => {
    const e = engineWith({
      access: [
        { action: 'deny', match: { param: { name: 'id', regex: '9\\d+' } } },
        { action: 'deny', match: { param: { name: 'debug' } } },
      ],
    });
    expect(statusOf(await send(e, { target: '/?id=912' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/?id=1912' }))).toBe(200);
    expect(statusOf(await send(e, { target: '/?debug' }))).toBe(403);
  });

  it('denies by IPv4, IPv4 CIDR (also IPv4-mapped peers), IPv6 and IPv6 CIDR', async () => {
    const e = engineWith({
      access: [{ action: 'deny', match: { ip: ['10.10.10.101', '192.168.0.0/16', '2001:db8::/32', '::1'] } }],
    });
    expect(statusOf(await send(e, { ip: '10.10.10.101' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '::ffff:10.10.10.101' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '192.168.44.1' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '2001:db8:1::5' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '::1' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '10.10.10.102' }))).toBe(200);
    expect(statusOf(await send(e, { ip: '2001:db9::5' }))).toBe(200);
  });

  it('matches app and scope', async () => {
    const e = engineWith({ access: [{ action: 'deny', match: { app: 'mobile', scope: 'gpu' } }] });
    expect(statusOf(await send(e, { app: 'mobile', scope: 'gpu' }))).toBe(403);
    expect(statusOf(await send(e, { app: 'mobile', scope: 'cpu' }))).toBe(200);
    expect(statusOf(await send(e, { app: 'web', scope: 'gpu' }))).toBe(200);
    expect(statusOf(await send(e, {}))).toBe(200);
  });

  it('invert negates the whole match', async () => {
    const e = engineWith({
      access: [{ action: 'deny', match: { pathPrefix: '/admin', ip: '10.0.0.0/8', invert: true } }],
    });
    expect(statusOf(await send(e, { target: '/admin', ip: '10.1.1.1' }))).toBe(200);
    expect(statusOf(await send(e, { target: '/admin', ip: '11.1.1.1' }))).toBe(403);
    expect(statusOf(await send(e, { target: '/public', ip: '10.1.1.1' }))).toBe(403);
  });

  it('an allow rule makes the list an allow-list; first match wins', async () => {
    const e = engineWith({
      access: [
        { action: 'deny', match: { ip: '10.0.0.5' } },
        { action: 'allow', match: { ip: '10.0.0.0/8' } },
      ],
    });
    expect(statusOf(await send(e, { ip: '10.0.0.5' }))).toBe(403);
    expect(statusOf(await send(e, { ip: '10.0.0.6' }))).toBe(200);
    expect(statusOf(await send(e, { ip: '172.16.0.1' }))).toBe(403);
  });

  it('without rules every request passes', async () => {
    expect(statusOf(await send(engineWith({}), { target: '/anything', ip: '1.2.3.4' }))).toBe(200);
  });
});
