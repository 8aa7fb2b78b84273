import { once } from 'node:events';
import type { ServerOptions } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientServer } from '../../src/http/server-factory.js';

// The cleartext listener serves HTTP/1.1 with Node's parser and moves a connection that opens with
// HTTP/2's preface to the HTTP/2 server (h2c-preface.ts); these cover how the bytes reach the
// protocol chosen, however they arrive.

const log = pino({ level: 'silent' });
let close: Array<() => void> = [];
afterEach(() => {
  for (const fn of close) fn();
  close = [];
});

async function listener(http: ServerOptions = {}, clientErrors: string[] = []) {
  const { server } = createClientServer({
    http,
    log,
    clientError: (err, socket) => {
      clientErrors.push(String(err.code));
      socket.destroy();
    },
  });
  server.on('request', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} http/${req.httpVersion} ${body}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  close.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

/** Sends `pieces` one at a time (each after the previous was written), returns all it reads. */
async function exchange(port: number, pieces: string[]): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  close.push(() => socket.destroy());
  await once(socket, 'connect');
  let got = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => {
    got += c;
  });
  for (const p of pieces) {
    await new Promise<void>((resolve) => socket.write(p, () => resolve()));
    // a separate read on the other side for each piece
    await new Promise((r) => setImmediate(r));
  }
  await once(socket, 'end');
  return got;
}

describe('cleartext protocol sniffing', () => {
  it('serves an HTTP/1.1 request that arrives in one piece, and its pipelined successor', async () => {
    const port = await listener();
    const got = await exchange(port, [
      'GET /a HTTP/1.1\r\nhost: x\r\n\r\nPOST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi',
    ]);
    expect(got).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(got).toContain('GET /a http/1.1 ');
    expect(got).toContain('POST /b http/1.1 hi');
  });

  it('serves an HTTP/1.1 request whose first bytes look like the HTTP/2 preface for a while', async () => {
    const port = await listener();
    // "P", "PR": could still be the preface; "PRO" is not (and not a method Node knows either)
    const pieces = [
      'P',
      'OST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n',
      'connection: close\r\n\r\nabc',
    ];
    const got = await exchange(port, pieces);
    expect(got).toContain('POST /p http/1.1 abc');
  });

  it('hands a connection that sends the preface to HTTP/2 (prior knowledge)', async () => {
    const port = await listener();
    const session = h2connect(`http://127.0.0.1:${port}`);
    close.push(() => session.destroy());
    const req = session.request({ ':path': '/h2', ':method': 'GET' });
    req.setEncoding('utf8');
    let body = '';
    req.on('data', (c: string) => {
      body += c;
    });
    const [headers] = (await once(req, 'response')) as [Record<string, unknown>];
    await once(req, 'end');
    expect(headers[':status']).toBe(200);
    expect(body).toBe('GET /h2 http/2.0 ');
  });

  it('hands over a preface that arrives in pieces, with the bytes after it in the same read', async () => {
    const port = await listener();
    const socket = connect(port, '127.0.0.1');
    close.push(() => socket.destroy());
    await once(socket, 'connect');
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
    const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    for (const piece of ['PRI * HTTP/2.0\r\n', '\r\nSM']) {
      await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
      await new Promise((r) => setImmediate(r));
    }
    socket.write(Buffer.concat([Buffer.from('\r\n\r\n', 'latin1'), settings]));
    const first = await reply;
    // the HTTP/2 server's own SETTINGS frame (type 4), not an HTTP/1.1 answer
    expect(first.subarray(0, 4).toString('latin1')).not.toBe('HTTP');
    expect(first[3]).toBe(4);
  });

  it('refuses the preface after an HTTP/1.1 request on the same connection', async () => {
    const errors: string[] = [];
    const port = await listener({}, errors);
    const got = await exchange(port, ['GET /a HTTP/1.1\r\nhost: x\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']);
    // this test's handler closes at once (the hub's answers the request first, then refuses)
    expect(got === '' || got.startsWith('HTTP/1.1 200')).toBe(true);
    expect(errors).toEqual(['HPE_PAUSED_H2_UPGRADE']);
  });

  it('passes other parse errors to the clientError handler', async () => {
    const errors: string[] = [];
    const port = await listener({}, errors);
    const got = await exchange(port, ['PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n']);
    expect(got).toBe('');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^HPE_/);
    expect(errors[0]).not.toBe('HPE_PAUSED_H2_UPGRADE');
  });

  it('closes a silent connection after headersTimeout, and not an HTTP/2 session handed over before it', async () => {
    const errors: string[] = [];
    const port = await listener(
      { headersTimeout: 50, requestTimeout: 0, connectionsCheckingInterval: 10 },
      errors,
    );
    const session = h2connect(`http://127.0.0.1:${port}`);
    close.push(() => session.destroy());
    const get = async (path: string) => {
      const req = session.request({ ':path': path, ':method': 'GET' });
      req.resume();
      const [headers] = (await once(req, 'response')) as [Record<string, unknown>];
      await once(req, 'end');
      return headers[':status'];
    };
    expect(await get('/before')).toBe(200);
    // opened after the session: had the session's HTTP/1.1 parser stayed in the server's list of
    // connections, it would have timed out first
    const silent = connect(port, '127.0.0.1');
    close.push(() => silent.destroy());
    silent.resume();
    await once(silent, 'close');
    expect(silent.bytesRead).toBe(0);
    expect(errors).toEqual(['ERR_HTTP_REQUEST_TIMEOUT']);
    expect(session.closed).toBe(false);
    expect(await get('/after')).toBe(200);
  });
});
