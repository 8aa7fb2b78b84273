import { once } from 'node:events';
import { request as httpGet } from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub } from './helpers/harness.js';

/** An upstream that answers with a latin1 field value (byte 0xe9) and sends its body `lateMs` later. */
async function latin1Upstream(lateMs: number) {
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write(
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nX-Latin1: caf'),
          Buffer.from([0xe9]),
          Buffer.from('\r\nContent-Length: 2\r\nConnection: close\r\n\r\n'),
        ]),
      );
      setTimeout(() => socket.end('ok'), lateMs);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The raw bytes of the field's value as the client received them, and the body. */
function rawField(url: string, name: string): Promise<{ value: Buffer; body: string; headAt: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    httpGet(`${url}/x`, (res) => {
      const headAt = performance.now() - t0;
      const i = res.rawHeaders.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === name);
      const value = Buffer.from(res.rawHeaders[i + 1] ?? '', 'latin1');
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ value, body, headAt }));
    })
      .on('error', reject)
      .end();
  });
}

describe('response head with a latin1 field value', () => {
  it('reaches the client byte for byte when the body comes late (the head is sent ahead of it)', async () => {
    await using up = await latin1Upstream(300);
    await using hub = await startHub();
    await using _agent = await startAgent(hub, up);
    const direct = await rawField(up.url, 'x-latin1');
    const through = await rawField(hub.url, 'x-latin1');
    expect(direct.value).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(through.value).toEqual(direct.value);
    expect(through.body).toBe('ok');
    // the head left before the late body
    expect(through.headAt).toBeLessThan(250);
  });
});
