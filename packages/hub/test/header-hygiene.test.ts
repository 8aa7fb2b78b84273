import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { upstreamHeaders } from '../src/http/forwarded.js';
import { isValidHost } from '../src/http/request-target.js';
import { createHub } from '../src/index.js';

describe('isValidHost (RFC 9110 §7.2: uri-host [ ":" port ])', () => {
  it.each([
    'example.com',
    'example.com:8080',
    'x',
    'a-b_c~d.e',
    'xn--bcher-kva.example',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65535',
    '[::1]',
    '[::1]:8080',
    '[2001:db8::7]:443',
    '[::ffff:10.0.0.1]',
    '[v1.fe:80]',
    'caf%C3%A9.example',
    "sub!$&'()*+,;=delims",
    // the grammar allows an empty reg-name and an empty port
    '',
    'x:',
  ])('%j is a host', (value) => {
    expect(isValidHost(value)).toBe(true);
  });

  it.each([
    'a b',
    ' x',
    'user@example.com',
    'user:pw@example.com',
    'example.com/path',
    'example.com?q',
    'example.com#f',
    'example.com:99999',
    'example.com:65536',
    'example.com:123456',
    'example.com:8x',
    'example.com:-1',
    'example.com:80:80',
    '::1',
    '[::1',
    '[::1]x',
    '[::1]:80:80',
    '[not-ip]',
    '[fe80::1%eth0]',
    '[]',
    'bad%zzpct',
    'tab\there',
    'café.example',
    '"quoted"',
    'a\\b',
  ])('%j is refused', (value) => {
    expect(isValidHost(value)).toBe(false);
  });
});

function fakeRequest(rawHeaders: string[], peer = '10.0.0.7'): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return { rawHeaders, headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
}

const xffOf = (list: [string, string][]) => list.filter(([n]) => n === 'x-forwarded-for').map(([, v]) => v);

describe('upstreamHeaders: X-Forwarded-For', () => {
  const sent = ['Host', 'h', 'X-Forwarded-For', '203.0.113.9', 'X-Forwarded-For', '198.51.100.1, 192.0.2.4'];

  it('append (the default): every client field, in order, then the socket peer, in one field', () => {
    expect(xffOf(upstreamHeaders(fakeRequest(sent), '10.0.0.7', 'r1'))).toEqual([
      '203.0.113.9, 198.51.100.1, 192.0.2.4, 10.0.0.7',
    ]);
    expect(xffOf(upstreamHeaders(fakeRequest(sent), '10.0.0.7', 'r1', 'append'))).toEqual([
      '203.0.113.9, 198.51.100.1, 192.0.2.4, 10.0.0.7',
    ]);
    expect(xffOf(upstreamHeaders(fakeRequest(['Host', 'h']), '10.0.0.7', 'r1'))).toEqual(['10.0.0.7']);
  });

  it('overwrite: only the socket peer, never the client value or a resolved client address', () => {
    // clientIp is what trusted proxies resolved; overwrite still writes the peer it came from
    expect(xffOf(upstreamHeaders(fakeRequest(sent), '203.0.113.9', 'r1', 'overwrite'))).toEqual(['10.0.0.7']);
    expect(xffOf(upstreamHeaders(fakeRequest(['Host', 'h']), '10.0.0.7', 'r1', 'overwrite'))).toEqual([
      '10.0.0.7',
    ]);
  });
});

describe('hub option xff', () => {
  it('is validated up front with an option error naming it', () => {
    expect(() => createHub({ secret: 's', xff: 'bogus' as 'append' })).toThrow(
      expect.objectContaining({ code: 'ERR_HUB_INVALID_OPTION', option: 'xff' }),
    );
    expect(() => createHub({ secret: 's', xff: 'bogus' as 'append' })).toThrow(
      /^xff must be one of append, overwrite$/,
    );
    expect(() => createHub({ secret: 's', xff: 'overwrite' }).destroy()).not.toThrow();
  });
});
