import { once } from 'node:events';
import { createServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createAgent } from '@slime/agent';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { h2Connect, h2Request } from './helpers/h2-client.js';
import { deferred, readAll, startAgent, startHub } from './helpers/harness.js';

/** An upstream that speaks only HTTP/2 in cleartext (prior knowledge), as gRPC servers do. */
async function startH2cUpstream(handler: (req: Http2ServerRequest, res: Http2ServerResponse) => unknown) {
  const server = createServer();
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('request', (req, res) => {
    Promise.resolve(handler(req, res)).catch((err: Error) => res.stream.destroy(err));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    hostPort: `127.0.0.1:${port}`,
    sessions,
    async [Symbol.asyncDispose]() {
      for (const s of sessions) s.destroy();
      server.close();
    },
  };
}

describe('an h2c:// upstream', () => {
  it('is spoken to in HTTP/2: requests with bodies, streamed responses, HTTP/1.1 and HTTP/2 clients', async () => {
    const seen: { version: string; method: string; path: string; body: string; host: string | undefined }[] =
      [];
    const release = deferred();
    await using upstream = await startH2cUpstream(async (req, res) => {
      const body = (await readAll(req)).toString();
      seen.push({
        version: req.httpVersion,
        method: req.method,
        path: req.url,
        body,
        host: req.headers[':authority'] as string,
      });
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-from': 'h2c' });
        res.write('first;');
        await release.promise;
        res.end('second');
        return;
      }
      res.writeHead(201, { 'content-type': 'text/plain', 'x-from': 'h2c' });
      res.end(`${req.method} ${req.url} ${body}`);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, `h2c://${upstream.hostPort}`, { numWorker: 2 });

    const r = await request(`${hub.url}/api/x?y=1`, { method: 'POST', body: 'payload' });
    expect(r.statusCode).toBe(201);
    expect(r.headers['x-from']).toBe('h2c');
    expect(await r.body.text()).toBe('POST /api/x?y=1 payload');
    expect(seen[0]).toMatchObject({ version: '2.0', method: 'POST', path: '/api/x?y=1', body: 'payload' });
    expect(seen[0]!.host).toBe(upstream.hostPort);

    // the response streams: the first chunk arrives while the upstream holds the rest
    const streamed = await request(`${hub.url}/stream`);
    const chunks: string[] = [];
    streamed.body.setEncoding('utf8');
    streamed.body.on('data', (c: string) => chunks.push(c));
    await vi.waitFor(() => expect(chunks.join('')).toBe('first;'));
    release.resolve();
    await once(streamed.body, 'end');
    expect(chunks.join('')).toBe('first;second');

    // HTTP/2 from the client to the upstream, both legs
    await using session = await h2Connect(hub.url);
    const h2 = await h2Request(session, { ':method': 'PUT', ':path': '/both' }, 'h2 body');
    expect(h2.status).toBe(201);
    expect(h2.body.toString()).toBe('PUT /both h2 body');
  });

  it('a client that leaves resets the upstream stream and frees the slot', async () => {
    const reset = deferred<boolean>();
    await using upstream = await startH2cUpstream((req, res) => {
      if (req.url === '/hang') {
        // closed by the agent (RST_STREAM or its connection dropped), never answered
        res.stream.once('close', () => reset.resolve(res.writableEnded));
        return; // never answers
      }
      res.end('ok');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, `h2c://${upstream.hostPort}`, { numWorker: 1 });
    const ac = new AbortController();
    const hang = request(`${hub.url}/hang`, { signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(hub.hub.activeRequests).toBe(1));
    ac.abort();
    await hang;
    expect(await reset.promise).toBe(false);
    const after = await request(`${hub.url}/after`, { headers: { 'slime-block': '1' } });
    expect(await after.body.text()).toBe('ok');
  });

  it('health probes by path are refused for h2c upstreams, naming the option', () => {
    expect(() =>
      createAgent({
        token: 't',
        hub: 'http://127.0.0.1:1',
        upstream: 'h2c://127.0.0.1:2',
        healthPath: '/health',
      }),
    ).toThrow(/^healthPath cannot be used with an h2c:\/\/ upstream/);
  });
});
