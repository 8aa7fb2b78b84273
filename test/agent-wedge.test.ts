import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgent, UpstreamConnections } from '@slime/agent';
import { signAgentToken } from '@slime/hub';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { readAll, SECRET, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';

// Issue #15: each request undici refused synchronously used to take one connection of the agent's
// undici Pool out of service for good; with --numWorker 2, two such requests hung the agent.
describe('no request can wedge an agent', () => {
  it('keeps serving after many odd requests, more than its slots', async () => {
    await using upstream = await startUpstream(async (req, res) => {
      const body = await readAll(req);
      res.end(`${req.method} ${req.url} ${body.length} expect=${req.headers.expect ?? '-'}`);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 2 });
    const odd = [
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
      'GET /k HTTP/1.1\r\nHost: x\r\nKeep-Alive: timeout=5\r\nConnection: close\r\n\r\n',
      'GET /t HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close, te\r\n\r\n',
    ];
    for (let round = 0; round < 3; round++) {
      for (const text of odd) {
        const out = await rawExchange(hub.port, text);
        expect(out).toMatch(/HTTP\/1\.1 200 OK/);
      }
    }
    const ok = await request(`${hub.url}/after`);
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('GET /after 0 expect=-');
  });

  it('a request the upstream client refuses fails alone, and its slot and connection come back', async () => {
    await using upstream = await startUpstream((req, res) => res.end(`ok ${req.url}`));
    await using hub = await startHub();
    const slots = 2;
    const token = await signAgentToken({ secret: SECRET, name: 'a' });
    const agent = createAgent({ hub: hub.url, upstream: upstream.url, token, numWorker: slots });
    agent.start();
    await agent.ready();
    try {
      // Two Host fields with different values: no HTTP client may send that (RFC 9112 §3.2).
      // node:http lets us send it to the hub; the hub must refuse it or the agent must.
      for (let i = 0; i < slots * 3; i++) {
        const out = await rawExchange(
          hub.port,
          `GET /dup HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`,
        );
        expect(out).toMatch(/^HTTP\/1\.1 (400|502) /);
        expect(out).toContain('application/problem+json');
        expect(out).not.toMatch(/undici|assert/i);
      }
      await expect.poll(() => agent.activeRequests).toBe(0);
      const ok = await request(`${hub.url}/after`);
      expect(ok.statusCode).toBe(200);
      expect(await ok.body.text()).toBe('ok /after');
    } finally {
      await agent.close();
    }
  });
});

describe('UpstreamConnections', () => {
  it('lends at most its size, reuses the warmest connection and survives a refused request', async () => {
    const server = createServer((req, res) => res.end(req.url));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const conns = new UpstreamConnections({ origin, size: 2 });
    try {
      const a = conns.acquire();
      const b = conns.acquire();
      expect(() => conns.acquire()).toThrow(/lent out/);
      // undici refuses these synchronously; the connection must stay usable.
      await expect(a.request({ path: '*', method: 'OPTIONS' })).rejects.toThrow();
      await expect(
        a.request({ path: '/', method: 'POST', headers: { expect: '100-continue' }, body: 'x' }),
      ).rejects.toThrow();
      const res = await a.request({ path: '/still', method: 'GET' });
      expect(await res.body.text()).toBe('/still');
      conns.release(b);
      conns.release(a);
      conns.release(a); // a second release is ignored
      expect(conns.leased).toBe(0);
      expect(conns.acquire()).toBe(a);
      expect(conns.created).toBe(2);
    } finally {
      await conns.close();
      server.close();
    }
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new UpstreamConnections({ origin: 'http://127.0.0.1:1', size: 0 })).toThrow(RangeError);
  });
});
