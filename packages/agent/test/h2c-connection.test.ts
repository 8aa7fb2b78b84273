import { once } from 'node:events';
import { createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ResetCode } from '@slime/protocol';
import { describe, expect, it, vi } from 'vitest';
import { H2cSession, h2cConnector } from '../src/h2c-session.js';
import { H2cConnection } from '../src/h2c-upstream.js';
import { describeUpstreamError, isConnectFailure, resetCodeFor } from '../src/upstream-errors.js';

const base = { method: 'POST', path: '/x', headers: [], headersTimeout: 5_000, bodyTimeout: 5_000 };

const connection = (origin: string) => new H2cConnection(origin, new H2cSession(origin));

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('H2cConnection', () => {
  it('a refused connection is a connect failure (the upstream saw nothing)', async () => {
    const conn = connection(`http://127.0.0.1:${await closedPort()}`);
    const err = await conn
      .request({ ...base, body: null, signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(isConnectFailure(err)).toBe(true);
    expect(resetCodeFor(err)).toBe(ResetCode.UPSTREAM_CONNECT);
    expect(describeUpstreamError(err)).toBe('upstream refused the connection');
    await conn.destroy();
  });

  it('no head in time is a headers timeout, and the stream is reset', async () => {
    const server = createServer();
    const closed = new Promise<number>((resolve) =>
      server.on('stream', (s) => s.once('close', () => resolve(s.rstCode))),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const conn = connection(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const err = await conn
      .request({
        ...base,
        headersTimeout: 100,
        body: Readable.from(['a']),
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e);
    expect(resetCodeFor(err)).toBe(ResetCode.UPSTREAM_TIMEOUT);
    expect(await closed).toBe(8); // CANCEL
    await conn.close();
    server.close();
  });

  it("an agent's connections share one HTTP/2 session, closed with the last of them", async () => {
    const server = createServer();
    let sessions = 0;
    let closedSessions = 0;
    server.on('session', (s) => {
      sessions++;
      s.once('close', () => closedSessions++);
    });
    server.on('stream', (s) => {
      s.respond({ ':status': 200 });
      s.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const connect = h2cConnector();
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const conns = [connect(origin), connect(origin), connect(origin)] as unknown as H2cConnection[];
    const answers = await Promise.all(
      conns.map((c) =>
        c.request({ ...base, method: 'GET', body: null, signal: new AbortController().signal }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    for (const a of answers) a.body.resume();
    expect(sessions).toBe(1);
    await conns[0]!.close();
    await conns[1]!.close();
    expect(closedSessions).toBe(0);
    await conns[2]!.close();
    await vi.waitFor(() => expect(closedSessions).toBe(1));
    server.close();
  });
});
