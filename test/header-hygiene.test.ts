import { signAgentToken } from '@slime/hub';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readAll, SECRET, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';

/** Echoes the headers the upstream saw. */
function echo() {
  return startUpstream((req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers }));
  });
}

/**
 * Dials the agent endpoint with a real WebSocket client and this Authorization value: 101 when the
 * hub accepted the token, else the refusal's status and problem+json body.
 */
function dial(hubUrl: string, authorization: string): Promise<{ status: number; body?: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${hubUrl.replace('http', 'ws')}/_slime/agent`, { headers: { authorization } });
    ws.on('error', reject);
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      readAll(res).then((b) => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(b.toString('utf8')) });
        res.destroy();
      }, reject);
    });
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

describe('agent endpoint: the Bearer scheme in any case (RFC 7235 §2.1)', () => {
  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('%s <token> is accepted', async (scheme) => {
    await using hub = await startHub();
    const token = await signAgentToken({ secret: SECRET, name: 'gpu' });
    expect(await dial(hub.url, `${scheme} ${token}`)).toEqual({ status: 101 });
  });

  it('another scheme or a bare token is refused as missing, with 401', async () => {
    const reasons: string[] = [];
    await using hub = await startHub({ hooks: { onAgentRefused: (r) => reasons.push(r) } });
    const token = await signAgentToken({ secret: SECRET, name: 'gpu' });
    for (const auth of [`Basic ${token}`, token, `Bearer${token}`]) {
      expect((await dial(hub.url, auth)).status).toBe(401);
    }
    expect(reasons).toEqual(['missing', 'missing', 'missing']);
  });
});

describe('agent endpoint: tokens issued in the future', () => {
  it('iat 10 minutes ahead is refused with 401 (not-yet-valid); 30 s ahead is accepted', async () => {
    const reasons: string[] = [];
    await using hub = await startHub({ hooks: { onAgentRefused: (r) => reasons.push(r) } });
    const ahead = (ms: number) => signAgentToken({ secret: SECRET, name: 'gpu', now: () => Date.now() + ms });

    const refused = await dial(hub.url, `Bearer ${await ahead(10 * 60_000)}`);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ status: 401, detail: expect.stringMatching(/future/) });
    expect(reasons).toEqual(['not-yet-valid']);

    expect(await dial(hub.url, `Bearer ${await ahead(30_000)}`)).toEqual({ status: 101 });
    expect(reasons).toEqual(['not-yet-valid']);
  });
});

describe('Host syntax: a malformed Host gets 400 ERR_HUB_MALFORMED_REQUEST', () => {
  it.each([
    ['a space', 'Host: exa mple.com'],
    ['userinfo', 'Host: user@example.com'],
    ['user and password', 'Host: user:pw@example.com'],
    ['a path', 'Host: example.com/admin'],
    ['a query', 'Host: example.com?x=1'],
    ['a port above 65535', 'Host: example.com:65536'],
    ['a non-numeric port', 'Host: example.com:http'],
    ['two ports', 'Host: example.com:80:81'],
    ['an unbracketed IPv6 address', 'Host: ::1'],
    ['an unclosed IPv6 literal', 'Host: [::1'],
    ['junk after an IPv6 literal', 'Host: [::1]x'],
    ['a bad IPv6 literal', 'Host: [::g]'],
    ['a bad percent-escape', 'Host: ex%zzample'],
  ])('%s', async (_name, hostLine) => {
    await using hub = await startHub();
    const out = await rawExchange(hub.port, `GET / HTTP/1.1\r\n${hostLine}\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toMatch(/content-type: application\/problem\+json/i);
    expect(bodyOf(out)).toMatchObject({ status: 400, code: 'ERR_HUB_MALFORMED_REQUEST' });
  });

  it('an absolute-form target with a bad port is refused the same way', async () => {
    await using hub = await startHub();
    const out = await rawExchange(
      hub.port,
      'GET http://example.com:99999/p HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(out)).toMatchObject({ status: 400, code: 'ERR_HUB_MALFORMED_REQUEST' });
  });

  it('valid hosts pass and reach the upstream as X-Forwarded-Host', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    for (const host of [
      'example.com',
      'example.com:8080',
      '127.0.0.1:1',
      '[::1]:8080',
      '[2001:db8::1]',
      'x',
    ]) {
      const out = await rawExchange(
        hub.port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nSlime-Block: 1\r\nConnection: close\r\n\r\n`,
      );
      expect(out, host).toMatch(/^HTTP\/1\.1 200 /);
      expect((bodyOf(out).headers as Record<string, string>)['x-forwarded-host'], host).toBe(host);
    }
  });
});

describe('X-Forwarded-For as an echo upstream sees it', () => {
  const spoofed = { 'x-forwarded-for': '203.0.113.9', 'slime-block': '1' };

  async function seen(xff: 'append' | 'overwrite' | undefined, headers: Record<string, string>) {
    await using upstream = await echo();
    await using hub = await startHub(xff === undefined ? {} : { xff });
    await using _agent = await startAgent(hub, upstream);
    const res = await request(`${hub.url}/who`, { headers });
    expect(res.statusCode).toBe(200);
    return ((await res.body.json()) as { headers: Record<string, string> }).headers['x-forwarded-for'];
  }

  it('default (append): the client value kept, the socket peer appended', async () => {
    expect(await seen(undefined, spoofed)).toBe('203.0.113.9, 127.0.0.1');
    expect(await seen('append', spoofed)).toBe('203.0.113.9, 127.0.0.1');
    expect(await seen(undefined, { 'slime-block': '1' })).toBe('127.0.0.1');
  });

  it('overwrite: the upstream sees only the socket peer', async () => {
    expect(await seen('overwrite', spoofed)).toBe('127.0.0.1');
    expect(await seen('overwrite', { 'slime-block': '1' })).toBe('127.0.0.1');
  });

  it('repeated client fields are joined in order before the peer (append)', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const out = await rawExchange(
      hub.port,
      'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.1\r\n' +
        'Slime-Block: 1\r\nConnection: close\r\n\r\n',
    );
    expect((bodyOf(out).headers as Record<string, string>)['x-forwarded-for']).toBe(
      '203.0.113.9, 198.51.100.1, 127.0.0.1',
    );
  });
});
