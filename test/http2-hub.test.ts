import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HubOptions } from '@slime/hub';
import { request } from 'undici';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';
import { deferred, readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';

type Mode = 'tls' | 'h2c';

let ca: TestCa | undefined;
async function hubOptions(mode: Mode): Promise<{ options: Partial<HubOptions>; ca?: string }> {
  if (mode === 'h2c') return { options: {} };
  ca ??= await createTestCa();
  const leaf = await ca.issue(`hub-${Math.random().toString(36).slice(2)}`);
  return { options: { tls: { cert: leaf.cert, key: leaf.key } }, ca: ca.cert };
}

afterAll(async () => {
  await ca?.[Symbol.asyncDispose]();
});

describe.each(['tls', 'h2c'] as const)('HTTP/2 clients (%s)', (mode) => {
  it('are served like HTTP/1.1: no pseudo-fields upstream, a body without Content-Length, HTTP/1.1 on the same port', async () => {
    const seen: { headers: IncomingMessage['headers']; raw: string[]; body: string; url: string }[] = [];
    await using upstream = await startUpstream(async (req, res) => {
      const body = (await readAll(req)).toString();
      seen.push({ headers: req.headers, raw: req.rawHeaders, body, url: req.url ?? '' });
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(`${req.method} ${req.url} ${body.length}`);
    });
    const { options, ca } = await hubOptions(mode);
    await using hub = await startHub(options);
    await using _agent = await startAgent(hub, upstream, ca === undefined ? {} : { hubTls: { ca } });
    await using session = await h2Connect(hub.url, ca);
    const answer = await h2Request(
      session,
      { ':method': 'POST', ':path': '/echo?q=1', 'content-type': 'text/plain', cookie: 'x=1' },
      'hello h2',
    );
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('POST /echo?q=1 8');
    expect(answer.headers['slime-agent-id']).toBeDefined();
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    const up = seen[0]!;
    expect(up.body).toBe('hello h2');
    expect(up.raw.filter((n, i) => i % 2 === 0 && n.startsWith(':'))).toEqual([]);
    expect(up.headers['x-forwarded-host']).toMatch(new RegExp(`^(127\\.0\\.0\\.1|localhost):${hub.port}$`));
    expect(up.headers['x-forwarded-proto']).toBe(mode === 'tls' ? 'https' : 'http');
    expect(up.headers.cookie).toBe('x=1');
    // HTTP/1.1 on the same port
    if (mode === 'h2c') {
      const r = await request(`${hub.url}/plain`);
      expect(await r.body.text()).toBe('GET /plain 0');
    } else {
      const body = await new Promise<string>((resolve, reject) => {
        httpsRequest(`${hub.url}/plain`, { ca, agent: false }, (res) => {
          expect(res.httpVersion).toBe('1.1');
          void readAll(res).then((b) => resolve(b.toString()), reject);
        })
          .on('error', reject)
          .end();
      });
      expect(body).toBe('GET /plain 0');
    }
  });

  it('app auth and rate limits answer with the same problem+json', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    const { options, ca } = await hubOptions(mode);
    await using hub = await startHub({
      ...options,
      appPassword: 'pw',
      policy: { ratelimits: [{ name: 'node', limit: 1, algorithm: 'fixed-window' }] },
    });
    await using _agent = await startAgent(hub, upstream, ca === undefined ? {} : { hubTls: { ca } });
    await using session = await h2Connect(hub.url, ca);
    const noAuth = await h2Request(session, { ':path': '/' });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(noAuth.body.toString()).code).toBe('ERR_HUB_UNAUTHORIZED');
    const ok = await h2Request(session, { ':path': '/', 'slime-app-password': 'pw' });
    expect(ok.status).toBe(200);
    expect(ok.headers.ratelimit).toMatch(/^"node";r=0;t=\d+$/);
    const limited = await h2Request(session, { ':path': '/', 'slime-app-password': 'pw' });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body.toString()).code).toBe('ERR_HUB_RATE_LIMITED');
    expect(upstream.count).toBe(1);
  });

  it('Slime-Block waits for a slot; responses stream chunk by chunk; a stream reset aborts the upstream call', async () => {
    const release = deferred();
    const closed: string[] = [];
    await using upstream = await startUpstream(async (req, res) => {
      res.once('close', () => {
        if (!res.writableFinished) closed.push(req.url ?? '');
      });
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        await release.promise;
        res.end('data: two\n\n');
        return;
      }
      if (req.url === '/hang') return; // never answers: the client resets
      res.end(`served ${req.url}`);
    });
    const { options, ca } = await hubOptions(mode);
    await using hub = await startHub(options);
    await using _agent = await startAgent(hub, upstream, {
      numWorker: 1,
      ...(ca === undefined ? {} : { hubTls: { ca } }),
    });
    await using session = await h2Connect(hub.url, ca);

    // streaming: the first event arrives while the upstream still holds the second
    const sse = session.request({ ':path': '/sse' });
    const [head] = (await once(sse, 'response')) as [Record<string, string>];
    expect(head[':status']).toBe(200);
    const chunks: Buffer[] = [];
    sse.on('data', (c: Buffer) => chunks.push(c));
    const sseEnded = once(sse, 'end');
    await vi.waitFor(() => expect(Buffer.concat(chunks).toString()).toBe('data: one\n\n'));

    // the one slot is taken: without Slime-Block 503 at once, with it the request waits
    const busy = await h2Request(session, { ':path': '/now' });
    expect(busy.status).toBe(503);
    const waiting = h2Request(session, { ':path': '/later', 'slime-block': '1' });
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    release.resolve();
    await sseEnded;
    expect(Buffer.concat(chunks).toString()).toBe('data: one\n\ndata: two\n\n');
    const later = await waiting;
    expect(later.status).toBe(200);
    expect(later.body.toString()).toBe('served /later');

    // RST_STREAM from the client reaches the upstream as a closed connection, and frees the slot
    const hang = session.request({ ':path': '/hang' });
    hang.on('error', () => {});
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    hang.close(0x8); // CANCEL
    await vi.waitFor(() => expect(closed).toContain('/hang'));
    const after = await h2Request(session, { ':path': '/after', 'slime-block': '1' });
    expect(after.body.toString()).toBe('served /after');
  });

  it('a large body crosses in both directions at the receiver pace (flow control end to end)', async () => {
    const size = 4 * 1024 * 1024;
    await using upstream = await startUpstream(async (req, res) => {
      const body = await readAll(req);
      res.end(body);
    });
    const { options, ca } = await hubOptions(mode);
    await using hub = await startHub(options);
    await using _agent = await startAgent(hub, upstream, ca === undefined ? {} : { hubTls: { ca } });
    await using session = await h2Connect(hub.url, ca);
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = i % 251;
    const answer = await h2Request(session, { ':method': 'PUT', ':path': '/big' }, payload);
    expect(answer.status).toBe(200);
    expect(answer.body.equals(payload)).toBe(true);
  });
});

describe('HTTP/2 during shutdown', () => {
  it('a drain sends GOAWAY and lets the streams under way finish', async () => {
    const release = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      await release.promise;
      res.end('done');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    await using session = await h2Connect(hub.url);
    const held = h2Request(session, { ':path': '/held' });
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const closing = hub.hub.close();
    // the session got GOAWAY: requests already under way finish
    release.resolve();
    expect((await held).body.toString()).toBe('done');
    await closing;
  });
});

describe('the HTTP/2 preface on a cleartext HTTP/1.1 connection', () => {
  it('only switches as the first bytes: after a request it is malformed, so the answer goes and the connection closes', async () => {
    await using hub = await startHub();
    const { connect } = await import('node:net');
    const socket = connect(hub.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /_slime/health HTTP/1.1\r\nhost: x\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const answer = (await readAll(socket)).toString();
    // the whole exchange: the health answer, then the close (no HTTP/2 SETTINGS frame)
    expect(answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n1a\r\n\{"status":"ok","agents":0\}\r\n0\r\n\r\n$/);
  });
});

describe('HTTP/2 turned off', () => {
  it('a cleartext hub with http2: false answers the HTTP/2 preface as a malformed HTTP/1 request', async () => {
    await using hub = await startHub({ http2: false });
    const { connect } = await import('node:net');
    const socket = connect(hub.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const answer = (await readAll(socket)).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 (400|505) /);
    expect(answer).toContain('application/problem+json');
  });
});
