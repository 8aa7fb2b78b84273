import { once } from 'node:events';
import { createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ResetCode } from '@slime/protocol';
import { describe, expect, it } from 'vitest';
import { H2cConnection } from '../src/h2c-upstream.js';
import { describeUpstreamError, isConnectFailure, resetCodeFor } from '../src/upstream-errors.js';

const base = { method: 'POST', path: '/x', headers: [], headersTimeout: 5_000, bodyTimeout: 5_000 };

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
    const conn = new H2cConnection(`http://127.0.0.1:${await closedPort()}`);
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
    const conn = new H2cConnection(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
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
});
