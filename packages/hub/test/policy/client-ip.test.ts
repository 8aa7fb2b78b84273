import { describe, expect, it } from 'vitest';
import { compileTrustedProxies, createPolicyEngine, resolveClientIp } from '../../src/policy/index.js';
import { send, statusOf } from './run-policies.js';

describe('client IP', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8', '2001:db8::/32']);

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientIp('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }, trusted)).toBe('203.0.113.9');
    expect(resolveClientIp('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }, undefined)).toBe('203.0.113.9');
  });

  it('walks X-Forwarded-For from the right past trusted hops', () => {
    const xff = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.1.1' };
    // 6.6.6.6 was written by the client: the first untrusted hop from the right is the client
    expect(resolveClientIp('10.0.0.2', xff, trusted)).toBe('198.51.100.7');
  });

  it('normalises IPv4-mapped peers and IPv6 hops', () => {
    expect(
      resolveClientIp('::ffff:10.0.0.2', { 'x-forwarded-for': '2001:0db8::1, 2001:db9::7' }, trusted),
    ).toBe('2001:db9::7');
    expect(resolveClientIp('::ffff:203.0.113.1', {}, trusted)).toBe('203.0.113.1');
  });

  it('stops at a malformed hop and keeps the last trusted address', () => {
    expect(resolveClientIp('10.0.0.2', { 'x-forwarded-for': 'garbage, 10.0.0.3' }, trusted)).toBe('10.0.0.3');
  });

  it('uses the leftmost hop when every hop is trusted, and the peer without the header', () => {
    expect(resolveClientIp('10.0.0.2', { 'x-forwarded-for': '10.9.9.9, 10.0.0.3' }, trusted)).toBe(
      '10.9.9.9',
    );
    expect(resolveClientIp('10.0.0.2', {}, trusted)).toBe('10.0.0.2');
  });

  it('joins repeated X-Forwarded-For fields', () => {
    expect(
      resolveClientIp('10.0.0.2', { 'x-forwarded-for': ['198.51.100.1', '10.0.0.9'] } as never, trusted),
    ).toBe('198.51.100.1');
  });

  it('spoofing from an untrusted peer does not dodge an IP deny rule; a trusted proxy is honoured', async () => {
    const engine = createPolicyEngine({
      policy: { trustedProxies: ['10.0.0.1'], access: [{ action: 'deny', match: { ip: '203.0.113.66' } }] },
    });
    // untrusted peer pretends to be someone else
    const spoof = await send(engine, { ip: '203.0.113.66', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(statusOf(spoof)).toBe(403);
    expect(spoof.ctx.clientIp).toBe('203.0.113.66');
    // the same client behind our trusted proxy
    const viaProxy = await send(engine, { ip: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.66' } });
    expect(statusOf(viaProxy)).toBe(403);
    const other = await send(engine, { ip: '10.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(statusOf(other)).toBe(200);
    expect(other.ctx.clientIp).toBe('198.51.100.1');
  });

  it('falls back to the engine option when the policy names no trusted proxies', async () => {
    const engine = createPolicyEngine({ trustedProxies: ['10.0.0.1'] });
    const r = await send(engine, { ip: '10.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(r.ctx.clientIp).toBe('198.51.100.1');
  });
});
