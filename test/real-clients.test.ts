import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';

const run = promisify(execFile);

/** Echoes what the upstream saw: method, target, headers and a body digest. */
function echo() {
  return startUpstream(async (req, res) => {
    const body = await readAll(req);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        length: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      }),
    );
  });
}

function bodyOf(text: string): Record<string, unknown> {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('Expect: 100-continue', () => {
  it('curl uploads 2 MiB with --data-binary @file byte for byte; the upstream never sees Expect', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const data = randomBytes(2 * 1024 * 1024);
    const file = join(tmpdir(), `slime-upload-${process.pid}.bin`);
    await writeFile(file, data);
    // curl sends Expect: 100-continue on its own for bodies over 1 MiB; -v shows the 100.
    const { stdout, stderr } = await run('curl', [
      '-sS',
      '-v',
      '--data-binary',
      `@${file}`,
      '-H',
      'content-type: application/octet-stream',
      `${hub.url}/upload`,
    ]);
    expect(stderr).toMatch(/> Expect: 100-continue/i);
    expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    const got = JSON.parse(stdout) as { length: number; sha256: string; headers: Record<string, string> };
    expect(got.length).toBe(data.length);
    expect(got.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(got.headers.expect).toBeUndefined();
  });

  it('a refused request is answered before the body is sent (no 100 Continue)', async () => {
    await using upstream = await echo();
    await using hub = await startHub({ appPassword: 'pw' });
    await using _agent = await startAgent(hub, upstream);
    const req = httpRequest(`${hub.url}/x`, {
      method: 'POST',
      headers: { expect: '100-continue', 'content-length': '5' },
    });
    let continued = false;
    req.on('continue', () => {
      continued = true;
    });
    req.flushHeaders();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    await readAll(res);
    expect(continued).toBe(false);
    req.destroy();
  });

  it('an expectation other than 100-continue gets 417 problem+json', async () => {
    await using hub = await startHub();
    const out = await rawExchange(
      hub.port,
      'POST /x HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 417 /);
    expect(bodyOf(out).code).toBe('ERR_HUB_EXPECTATION_FAILED');
  });
});

describe('request targets and upgrade offers', () => {
  it('OPTIONS * reaches the upstream as OPTIONS *', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const out = await rawExchange(hub.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(bodyOf(out)).toMatchObject({ method: 'OPTIONS', url: '*' });
  });

  it('* with another method is a 400 problem', async () => {
    await using hub = await startHub();
    const out = await rawExchange(hub.port, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(out).code).toBe('ERR_HUB_MALFORMED_REQUEST');
  });

  it('an absolute-form target is forwarded in origin-form with its authority as the host', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { preserveHost: true });
    const out = await rawExchange(
      hub.port,
      'GET http://api.example:8080/v1/a%20b?x=1&x=2 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    const got = bodyOf(out) as { url: string; headers: Record<string, string> };
    expect(got.url).toBe('/v1/a%20b?x=1&x=2');
    expect(got.headers.host).toBe('api.example:8080');
    expect(got.headers['x-forwarded-host']).toBe('api.example:8080');
  });

  it('an h2c upgrade offer is ignored and the request served over HTTP/1.1, keep-alive included', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    // The Java HttpClient's first request on an http:// URL, then a second one on the connection.
    const out = await rawExchange(
      hub.port,
      'POST /first HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\nContent-Length: 5\r\n\r\nhello' +
        // pipelined behind the first, so it waits for the one slot
        'GET /second HTTP/1.1\r\nHost: x\r\nSlime-Block: 1\r\nConnection: close\r\n\r\n',
    );
    const answers = out.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
    const first = bodyOf(answers[0]!) as { url: string; length: number; headers: Record<string, string> };
    expect(first).toMatchObject({ url: '/first', length: 5 });
    expect(first.headers.upgrade).toBeUndefined();
    expect(first.headers['http2-settings']).toBeUndefined();
    expect(bodyOf(answers[1]!)).toMatchObject({ url: '/second' });
  });

  it('curl --http2 on an http:// URL gets its answer over HTTP/1.1', async () => {
    await using upstream = await echo();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const { stdout, stderr } = await run('curl', ['-sS', '-v', '--http2', `${hub.url}/h2c?q=1`]);
    expect(stderr).toMatch(/Upgrade: h2c/i);
    expect(stderr).toMatch(/< HTTP\/1\.1 200/);
    expect(JSON.parse(stdout)).toMatchObject({ url: '/h2c?q=1' });
  });

  it('the Java HttpClient (HTTP/2 by default, so it offers h2c) gets its answers over HTTP/1.1', async () => {
    const seen: Array<{ url: string; upgrade: string | undefined; body: string }> = [];
    await using upstream = await startUpstream(async (req, res) => {
      const body = (await readAll(req)).toString();
      seen.push({ url: req.url ?? '', upgrade: req.headers.upgrade, body });
      res.end(`${req.method} ${req.url} ${body}`);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const source = fileURLToPath(new URL('./fixtures/JavaClient.java', import.meta.url));
    const { stdout } = await run('java', [source, hub.url], { timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual([
      '200 HTTP_1_1 GET /java/get?q=1 ',
      '200 HTTP_1_1 POST /java/post hello from java',
    ]);
    expect(seen.map((s) => s.upgrade)).toEqual([undefined, undefined]);
  }, 60_000);

  it('a client WebSocket outside the agent endpoint gets 501 problem+json, and CONNECT 405', async () => {
    await using hub = await startHub();
    const ws = await rawExchange(
      hub.port,
      'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(ws).toMatch(/^HTTP\/1\.1 501 /);
    expect(bodyOf(ws).code).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    const connect = await rawExchange(
      hub.port,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expect(connect).toMatch(/^HTTP\/1\.1 405 /);
    expect(bodyOf(connect).code).toBe('ERR_HUB_METHOD_NOT_ALLOWED');
  });
});

describe("the hub's own refusals are problem+json with a stable code", () => {
  const cases: Array<[string, string | Buffer, number, string]> = [
    [
      'a 64 KiB target',
      `GET /${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      414,
      'ERR_HUB_URI_TOO_LONG',
    ],
    [
      'oversize headers',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      431,
      'ERR_HUB_HEADERS_TOO_LARGE',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
    [
      'two Content-Lengths',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
    [
      'raw non-ASCII bytes in the target',
      Buffer.concat([
        Buffer.from('GET /caf'),
        Buffer.from([0xc3, 0xa9]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
    ['a malformed request line', 'HELLO\r\n\r\n', 400, 'ERR_HUB_MALFORMED_REQUEST'],
    ['an unknown HTTP version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 505, 'ERR_HUB_HTTP_VERSION'],
    [
      'a control character in a field',
      'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
    [
      'two Host fields',
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n',
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
    [
      'HTTP/1.1 without Host',
      'GET / HTTP/1.1\r\nConnection: close\r\n\r\n',
      400,
      'ERR_HUB_MALFORMED_REQUEST',
    ],
  ];

  it.each(cases)('%s', async (_name, text, status, code) => {
    await using hub = await startHub();
    const out = await rawExchange(hub.port, text);
    expect(out).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(out).toMatch(/content-type: application\/problem\+json/i);
    const problem = bodyOf(out);
    expect(problem).toMatchObject({ status, code });
    // the hub is unharmed
    const ok = await request(`${hub.url}/_slime/health`);
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });
});

describe('response heads and ids', () => {
  it('the response head leaves when the upstream sends it, not with the first body byte', async () => {
    let sendEvent: () => void = () => {};
    await using upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      sendEvent = () => res.end('data: first\n\n');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const res = await request(`${hub.url}/sse`);
    // The head arrived while the upstream still holds its first event.
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    sendEvent();
    expect(await res.body.text()).toBe('data: first\n\n');
  });

  it('an upstream X-Request-Id is the only one the client gets', async () => {
    await using upstream = await startUpstream((_req, res) => {
      res.setHeader('x-request-id', 'from-upstream');
      res.end('ok');
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const out = await rawExchange(hub.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out.match(/^x-request-id:/gim)).toHaveLength(1);
    expect(out).toMatch(/x-request-id: from-upstream/i);
  });
});

describe('informational responses', () => {
  /** An upstream that answers each path with a fixed raw byte sequence. */
  async function rawUpstream(replies: Record<string, string>) {
    const server = createNetServer((s: Socket) => {
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString('latin1');
        const m = /^\S+ (\S+)/.exec(buf);
        if (m && buf.includes('\r\n\r\n')) {
          s.write(replies[m[1]!] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
          buf = '';
        }
      });
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      [Symbol.asyncDispose]: async () => {
        server.close();
      },
    };
  }

  it('103 Early Hints reaches the client before the final response; 102 too', async () => {
    await using upstream = await rawUpstream({
      '/103':
        'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      '/102': 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    const hints = await rawExchange(hub.port, 'GET /103 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(hints).toMatch(
      /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload; as=style\r\n\r\nHTTP\/1\.1 200 OK/,
    );
    expect(hints.endsWith('ok')).toBe(true);
    const processing = await rawExchange(
      hub.port,
      'GET /102 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(processing).toMatch(/^HTTP\/1\.1 102 Processing\r\n\r\nHTTP\/1\.1 200 OK/);
  });

  it.each([
    ['an unsolicited 100', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    [
      'a 101 nobody asked for',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n',
    ],
    ['an unknown 1xx', 'HTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  ])('%s never yields library internals', async (_name, reply) => {
    await using upstream = await rawUpstream({ '/x': reply });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    const res = await request(`${hub.url}/x`);
    const text = await res.body.text();
    if (res.statusCode === 200) {
      expect(text).toBe('ok');
    } else {
      expect(res.statusCode).toBe(502);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(text).not.toMatch(/assert|undici|SocketError|127\.0\.0\.1/i);
    }
  });
});
