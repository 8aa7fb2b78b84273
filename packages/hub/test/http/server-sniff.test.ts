import { once } from 'node:events';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientServer } from '../../src/http/server-factory.js';

// The cleartext listener tells HTTP/1.1 from HTTP/2's preface by the first bytes; these cover how
// those bytes reach the protocol chosen, however they arrive.

const log = pino({ level: 'silent' });
let close: Array<() => void> = [];
afterEach(() => {
  for (const fn of close) fn();
  close = [];
});

async function listener(firstByteTimeoutMs?: number) {
  const { server } = createClientServer({ http: {}, log, firstByteTimeoutMs });
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

  it('closes a connection that sends nothing within firstByteTimeoutMs', async () => {
    const port = await listener(50);
    const socket = connect(port, '127.0.0.1');
    close.push(() => socket.destroy());
    socket.resume();
    await once(socket, 'close');
    expect(socket.bytesRead).toBe(0);
  });
});
