import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub } from './helpers/harness.js';

describe('a response head sent before its body', () => {
  it('keeps a Latin-1 field value byte for byte (not re-encoded as UTF-8)', async () => {
    // a raw upstream: its head carries the single byte 0xE9 (é in Latin-1), its body comes later
    const held: Socket[] = [];
    const upstream = createServer((socket) => {
      socket.once('data', () => {
        socket.write(
          Buffer.concat([
            Buffer.from(
              'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nX-Latin1: caf',
            ),
            Buffer.from([0xe9]),
            Buffer.from('\r\n\r\n'),
          ]),
        );
        held.push(socket);
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port: upPort } = upstream.address() as { port: number };
    await using hub = await startHub();
    const agent = await startAgent(hub, `http://127.0.0.1:${upPort}`);
    try {
      const client = connect(hub.port, '127.0.0.1');
      await once(client, 'connect');
      client.write('GET /sse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let head = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        if (head.indexOf('\r\n\r\n') !== -1) client.emit('head');
      });
      // the head arrives while the upstream still holds the body
      await once(client, 'head');
      const at = head.indexOf('x-latin1: ');
      expect(head.subarray(at + 10, at + 14).toString('hex')).toBe('636166e9');
      for (const s of held) s.end('0\r\n\r\n');
      await once(client, 'end');
    } finally {
      for (const s of held) s.destroy();
      await agent.agent.close();
      upstream.close();
    }
  });
});
