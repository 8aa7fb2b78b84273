import { describe, expect, it } from 'vitest';
import { createIpSet, formatIp, normalizeIp, parseCidr, parseIp } from '../../src/policy/index.js';

describe('IP parsing', () => {
  it('parses IPv4 into the IPv4-mapped range and formats it back', () => {
    expect(parseIp('10.0.0.1')).toBe(parseIp('::ffff:10.0.0.1'));
    expect(parseIp('10.0.0.1')).toBe(parseIp('::ffff:a00:1'));
    expect(formatIp(parseIp('::ffff:10.0.0.1')!)).toBe('10.0.0.1');
  });

  it('parses and compresses IPv6', () => {
    expect(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('::')).toBe('::');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('[2001:db8::2]')).toBe('2001:db8::2');
  });

  it('refuses malformed addresses', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1::2::3',
      '12345::',
      'abc',
      '1:2:3:4:5:6:7:8:9',
      '::ffff:1.2.3',
    ]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('parses CIDRs and refuses bad prefix lengths', () => {
    expect(parseCidr('10.0.0.0/8')).toBeDefined();
    expect(parseCidr('2001:db8::/32')).toBeDefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/x')).toBeUndefined();
  });
});

describe('IP sets', () => {
  it('match IPv4 CIDRs for plain and IPv4-mapped addresses', () => {
    const set = createIpSet(['10.0.0.0/8', '192.168.1.7']);
    expect(set.has(parseIp('10.200.3.4')!)).toBe(true);
    expect(set.has(parseIp('::ffff:10.0.0.1')!)).toBe(true);
    expect(set.has(parseIp('192.168.1.7')!)).toBe(true);
    expect(set.has(parseIp('192.168.1.8')!)).toBe(false);
    expect(set.has(parseIp('11.0.0.1')!)).toBe(false);
  });

  it('match IPv6 CIDRs', () => {
    const set = createIpSet(['2001:db8::/32', '::1']);
    expect(set.has(parseIp('2001:db8:ffff::1')!)).toBe(true);
    expect(set.has(parseIp('2001:db9::1')!)).toBe(false);
    expect(set.has(parseIp('::1')!)).toBe(true);
    expect(set.has(parseIp('127.0.0.1')!)).toBe(false);
  });

  it('/0 matches everything in its family space', () => {
    expect(createIpSet(['0.0.0.0/0']).has(parseIp('8.8.8.8')!)).toBe(true);
    expect(createIpSet(['0.0.0.0/0']).has(parseIp('2001:db8::1')!)).toBe(false);
  });

  it('throws naming a bad entry', () => {
    expect(() => createIpSet(['10.0.0.0/8', 'nope'])).toThrow(/"nope"/);
  });
});
