import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { collector } from './helpers/fuzz-http.js';
import { deferred, readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';

async function echoUpstream() {
  return startUpstream(async (req, res) => {
    const body = await readAll(req);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: body.toString('base64'),
      }),
    );
  });
}

describe('forwarding', () => {
  it.each(['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])(
    '%s with query and body reaches the upstream unchanged',
    async (method) => {
      await using upstream = await echoUpstream();
      await using hub = await startHub();
      await using _agent = await startAgent(hub, upstream);
      const body = method === 'GET' ? undefined : Buffer.from([0, 1, 2, 250, 255, 10, 13]);
      const res = await request(`${hub.url}/a/b%20c?x=1&x=2&y=%C3%A9`, {
        method: method as 'GET',
        headers: { 'x-custom': 'v1', 'content-type': 'application/octet-stream', cookie: 'a=b' },
        ...(body ? { body } : {}),
      });
      expect(res.statusCode).toBe(200);
      const got = (await res.body.json()) as {
        method: string;
        url: string;
        headers: Record<string, string>;
        body: string;
      };
      expect(got.method).toBe(method);
      expect(got.url).toBe('/a/b%20c?x=1&x=2&y=%C3%A9');
      expect(got.headers['x-custom']).toBe('v1');
      expect(got.headers.cookie).toBe('a=b');
      expect(Buffer.from(got.body, 'base64')).toEqual(body ?? Buffer.alloc(0));
      expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(got.headers['x-forwarded-proto']).toBe('http');
      expect(got.headers['x-forwarded-host']).toBe(`127.0.0.1:${hub.port}`);
      expect(got.headers['x-request-id']).toMatch(/\S+/);
    },
  );

  it('strips hop-by-hop and Slime-* headers, and headers named by Connection', async () => {
    await using upstream = await echoUpstream();
    await using hub = await startHub({ appPassword: 'pw' });
    await using _agent = await startAgent(hub, upstream);
    // node:http, not undici: undici manages Connection itself and would not send ours
    const req = httpRequest(`${hub.url}/`, {
      headers: {
        'slime-app-password': 'pw',
        'slime-block': '1',
        'x-drop-me': 'secret',
        connection: 'keep-alive, x-drop-me',
        'proxy-authorization': 'Basic abc',
        te: 'gzip, trailers',
        'x-keep': 'yes',
      },
    }).end();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    const got = JSON.parse((await readAll(res)).toString()) as { headers: Record<string, string> };
    expect(got.headers['x-keep']).toBe('yes');
    for (const name of ['slime-app-password', 'slime-block', 'x-drop-me', 'proxy-authorization']) {
      expect(got.headers[name], name).toBeUndefined();
    }
    // protocol 3: of TE only `trailers` crosses (the upstream may send trailers; gRPC needs it)
    expect(got.headers.te).toBe('trailers');
  });

  it('returns status codes and headers unchanged, including repeated set-cookie', async () => {
    await using upstream = await startUpstream((req, res) => {
      if (req.url === '/teapot') {
        res.writeHead(
          418,
          [
            ['set-cookie', 'a=1'],
            ['set-cookie', 'b=2'],
            ['x-upstream', 'yes'],
            ['keep-alive', 'timeout=5'],
          ].flat(),
        );
        res.end('short and stout');
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(302, { location: '/elsewhere' }).end();
      }
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const teapot = await request(`${hub.url}/teapot`);
    expect(teapot.statusCode).toBe(418);
    expect(teapot.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(teapot.headers['x-upstream']).toBe('yes');
    expect(await teapot.body.text()).toBe('short and stout');
    const empty = await request(`${hub.url}/empty`);
    expect(empty.statusCode).toBe(204);
    expect(await empty.body.text()).toBe('');
    // redirects are the client's business: the agent never follows them
    const redirect = await request(`${hub.url}/redirect`);
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/elsewhere');
    await redirect.body.dump();
  });

  it('answers 503 with Retry-After and problem+json when no agent is connected', async () => {
    await using hub = await startHub();
    const res = await request(`${hub.url}/x`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toBe('application/problem+json');
    const problem = (await res.body.json()) as { code: string; status: number };
    expect(problem).toMatchObject({ code: 'ERR_HUB_NO_AGENT', status: 503 });
  });

  it('answers 503 when the only upstream refuses connections (issue #17) and 504 when it does not answer in time', async () => {
    const dead = await startUpstream(() => {});
    const deadUrl = dead.url;
    await dead.close();
    await using hub = await startHub();
    await using _a = await startAgent(hub, deadUrl);
    // The upstream saw nothing and no healthy agent is left: "no agent", not a gateway error.
    const refused = await request(`${hub.url}/x`);
    expect(refused.statusCode).toBe(503);
    expect(((await refused.body.json()) as { code: string }).code).toBe('ERR_HUB_NO_AGENT');

    await using slow = await startUpstream(() => {}); // never answers
    await using hub2 = await startHub();
    await using _b = await startAgent(hub2, slow, { upstreamHeadersTimeoutMs: 200 });
    const timedOut = await request(`${hub2.url}/x`);
    expect(timedOut.statusCode).toBe(504);
    expect(((await timedOut.body.json()) as { code: string }).code).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
  });
});

describe('streaming and flow control', () => {
  it('passes a 100 MB upload and a 100 MB download with memory growth far below the body size', async () => {
    const SIZE = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const produce = (total: number) =>
      Readable.from(
        (function* () {
          for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
        })(),
      );
    await using upstream = await startUpstream(async (req, res) => {
      if (req.method === 'POST') {
        let n = 0;
        for await (const c of req) n += (c as Buffer).length;
        res.end(String(n));
      } else {
        res.setHeader('content-length', SIZE);
        produce(SIZE).pipe(res);
      }
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const gc = collector();
    gc();
    const base = process.memoryUsage();
    const growth = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers;
    };
    let peak = 0;
    const sample = setInterval(() => {
      // What is live, not garbage the collector has yet to reclaim: V8 lets up to ~64 MB of
      // released buffers pile up before it collects (1 MiB DATA frames fill that quickly).
      let g = growth();
      if (g > 16 * 1024 * 1024) {
        gc();
        g = growth();
      }
      peak = Math.max(peak, g);
    }, 5);
    try {
      const up = await request(`${hub.url}/upload`, { method: 'POST', body: produce(SIZE) });
      expect(await up.body.text()).toBe(String(SIZE));
      const down = await request(`${hub.url}/download`);
      let received = 0;
      for await (const c of down.body) received += (c as Buffer).length;
      expect(received).toBe(SIZE);
    } finally {
      clearInterval(sample);
    }
    // Everything (client, hub, agent, upstream) shares this process, so this bounds them all.
    // Buffering either body whole would cost at least SIZE; live growth measured 17-22 MB (the
    // windows and 1 MiB frames in flight), so 40% leaves room for a loaded machine.
    expect(peak).toBeLessThan(SIZE * 0.4);
  });

  it('delivers server-sent events one by one before the stream ends', async () => {
    const acks = Array.from({ length: 5 }, () => deferred());
    await using upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < acks.length; i++) {
        res.write(`data: event ${i}\n\n`);
        // the next event is written only after the client saw this one: proof it was not buffered
        await acks[i]!.promise;
      }
      res.end();
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const res = await request(`${hub.url}/events`);
    let seen = 0;
    let text = '';
    for await (const c of res.body) {
      text += c.toString();
      while (text.includes('\n\n')) {
        const idx = text.indexOf('\n\n');
        expect(text.slice(0, idx)).toBe(`data: event ${seen}`);
        text = text.slice(idx + 2);
        acks[seen++]!.resolve();
      }
    }
    expect(seen).toBe(5);
  });

  it('never gives the upstream more than numWorker requests at once (50 clients, numWorker 2)', async () => {
    // each request holds its slot a few ms, so the two slots are busy at the same time
    await using upstream = await startUpstream((_req, res) => void setTimeout(() => res.end('ok'), 5));
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 2 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        request(`${hub.url}/x`, { headers: { 'slime-block': '1' } }).then((r) => r.body.text()),
      ),
    );
    expect(results).toEqual(Array(50).fill('ok'));
    expect(upstream.count).toBe(50);
    expect(upstream.maxInFlight).toBe(2);
  });

  it('a client that does not read does not delay another client on the same agent', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    await using upstream = await startUpstream((req, res) => {
      if (req.url === '/big') res.end(big);
      else res.end('small');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 2 });
    const stalled = await request(`${hub.url}/big`);
    expect(stalled.statusCode).toBe(200);
    stalled.body.pause(); // never read: its window fills up and its stream stalls alone
    const other = await request(`${hub.url}/small`);
    expect(await other.body.text()).toBe('small');
    stalled.body.destroy();
  });
});

describe('client and agent failures', () => {
  it('a client that disconnects makes the agent abort the upstream call and free its slot', async () => {
    const aborted = deferred();
    await using upstream = await startUpstream((req, res) => {
      if (req.url === '/hang') {
        res.once('close', () => aborted.resolve());
        return;
      }
      res.end('next');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 1 });
    const controller = new AbortController();
    const hanging = request(`${hub.url}/hang`, { signal: controller.signal }).catch((e: Error) => e);
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    controller.abort();
    await hanging;
    await aborted.promise;
    const next = await request(`${hub.url}/after`, { headers: { 'slime-block': '1' } });
    expect(await next.body.text()).toBe('next');
  });

  it('re-dispatches requests whose agent died before answering to another agent (none lost)', async () => {
    await using stuck = await startUpstream(() => {}); // takes requests, never answers
    await using good = await startUpstream((_req, res) => res.end('served'));
    await using hub = await startHub();
    const victim = await startAgent(hub, stuck, { numWorker: 3, name: 'victim' });
    const pending = Array.from({ length: 3 }, () =>
      request(`${hub.url}/x`, { headers: { 'slime-block': '1' } }).then(async (r) => [
        r.statusCode,
        await r.body.text(),
      ]),
    );
    await vi.waitFor(() => expect(stuck.inFlight).toBe(3));
    await using _good = await startAgent(hub, good, { name: 'good' });
    victim.agent.destroy();
    expect(await Promise.all(pending)).toEqual(Array(3).fill([200, 'served']));
  });

  it('gives 502 when the agent dies after the request body was read', async () => {
    await using stuck = await startUpstream(async (req) => {
      await readAll(req);
    });
    await using hub = await startHub();
    const victim = await startAgent(hub, stuck);
    const res = request(`${hub.url}/upload`, { method: 'POST', body: 'data' });
    await vi.waitFor(() => expect(stuck.count).toBe(1));
    victim.agent.destroy();
    const r = await res;
    expect(r.statusCode).toBe(502);
    expect(((await r.body.json()) as { code: string }).code).toBe('ERR_HUB_AGENT_LOST');
  });

  it('graceful close lets an in-flight request finish', async () => {
    const release = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      await release.promise;
      res.end('finished');
    });
    const hub = await startHub();
    const agent = await startAgent(hub, upstream);
    const inflight = request(`${hub.url}/slow`);
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const closed = hub.hub.close();
    // new requests are refused while draining
    release.resolve();
    const r = await inflight;
    expect(await r.body.text()).toBe('finished');
    await closed;
    expect(hub.hub.agents()).toEqual([]);
    await agent.agent.close();
  });
});
