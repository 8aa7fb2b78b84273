import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2ServerRequest, connect as h2connect } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { HubStream } from '../../src/streams/hub-stream.js';
import type { StreamHost } from '../../src/streams/stream-host.js';

const host: StreamHost = {
  id: 'agent-1',
  agentWindow: 65_536,
  hubWindow: 65_536,
  send: () => {},
  congested: false,
  waitForDrain: () => {},
  streamClosed: () => {},
  version: 3,
  framingViolation: () => {},
  now: () => 0,
};

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup) fn();
  cleanup = [];
});

/** A real HTTP/1.1 server on port 0, closed after the test, with `onRequest` as its listener. */
async function listen(onRequest?: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(onRequest);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port };
}

/** A client request to `port` (its errors ignored: the tests destroy it). */
function send(port: number, method: string, body?: string) {
  const client = request({ port, host: '127.0.0.1', method, path: '/sse' });
  client.on('error', () => {});
  if (body !== undefined) client.setHeader('content-length', Buffer.byteLength(body));
  client.end(body);
  return client;
}

/** A real HTTP/1.1 exchange: resolves with the server's req/res and the client's request. */
async function exchange(method: string, body?: string) {
  const { server, port } = await listen();
  const client = send(port, method, body);
  const [req, res] = (await once(server, 'request')) as [IncomingMessage, ServerResponse];
  return { req, res, client };
}

describe('a HubStream for a request without a body', () => {
  it('ends the request at once, so a client that leaves mid-response leaves no aborted request', async () => {
    const { req, res, client } = await exchange('GET');
    const errors: unknown[] = [];
    req.on('error', (e) => errors.push(e));
    new HubStream(host, 1, { body: null, req });
    await once(req, 'end');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    await once(client, 'response');
    client.destroy();
    await once(res, 'close');
    expect(req.readableEnded).toBe(true);
    expect(req.errored).toBeNull();
    expect(errors).toEqual([]);
  });

  it('does so when the stream opens inside the request event, before Node saw the message end', async () => {
    // The hub opens the stream synchronously in 'request' (an agent slot free): llhttp has parsed
    // the head but not yet called on_message_complete, so req.complete is still false there.
    let opened!: (v: { req: IncomingMessage; res: ServerResponse; completeAtOpen: boolean }) => void;
    const open = new Promise<{ req: IncomingMessage; res: ServerResponse; completeAtOpen: boolean }>(
      (resolve) => (opened = resolve),
    );
    const { port } = await listen((req, res) => {
      const completeAtOpen = req.complete;
      new HubStream(host, 2, { body: null, req });
      opened({ req, res, completeAtOpen });
    });
    const client = send(port, 'GET');
    const { req, res, completeAtOpen } = await open;
    expect(completeAtOpen).toBe(false);
    const errors: unknown[] = [];
    req.on('error', (e) => errors.push(e));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    await once(client, 'response');
    await new Promise((r) => setImmediate(r));
    expect(req.readableEnded).toBe(true);
    client.destroy();
    await once(res, 'close');
    expect(req.errored).toBeNull();
    expect(errors).toEqual([]);
  });

  it('leaves a request with a body to its reader', async () => {
    const { req } = await exchange('POST', 'hello');
    new HubStream(host, 3, {
      body: { stream: req, consumed: false, read: () => {}, handBack: () => {} } as never,
      req,
    });
    await new Promise((r) => setImmediate(r));
    expect(req.readableFlowing).toBeNull();
    let got = '';
    for await (const c of req) got += c;
    expect(got).toBe('hello');
  });

  it('leaves an HTTP/2 request alone (its stream is the response’s too)', async () => {
    const server = createH2Server();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const session = h2connect(`http://127.0.0.1:${port}`);
    cleanup.push(() => {
      session.destroy();
      server.close();
    });
    session.request({ ':path': '/' }).on('error', () => {});
    const [req] = (await once(server, 'request')) as [Http2ServerRequest];
    new HubStream(host, 1, { body: null, req: req as unknown as IncomingMessage });
    await new Promise((r) => setImmediate(r));
    expect(req.readableFlowing).toBeNull();
  });
});
