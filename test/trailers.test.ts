import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readAll, startAgent, startHub, startUpstream } from './helpers/harness.js';

interface Answer {
  status: number;
  body: string;
  trailers: Record<string, string | undefined>;
  headers: IncomingMessage['headers'];
}

/** A node:http request; `trailers` are sent after a chunked body, announced in `Trailer`. */
function call(
  url: string,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: string[];
    trailers?: Record<string, string>;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      readAll(res).then(
        (b) =>
          resolve({
            status: res.statusCode ?? 0,
            body: b.toString(),
            trailers: { ...res.trailers },
            headers: res.headers,
          }),
        reject,
      );
    });
    req.on('error', reject);
    for (const part of o.body ?? []) req.write(part);
    if (o.trailers) req.addTrailers(o.trailers);
    req.end();
  });
}

describe('trailers through hub and agent (protocol 3)', () => {
  it('response trailers reach a client that sent TE: trailers, and only that client', async () => {
    const seenTe: Array<string | undefined> = [];
    await using upstream = await startUpstream((req, res) => {
      seenTe.push(req.headers.te as string | undefined);
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, grpc-status' });
      res.write('part one, ');
      res.write('part two');
      res.addTrailers({ 'x-checksum': 'sha256=abc', 'grpc-status': '0', 'grpc-message': 'all%20good' });
      res.end();
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);

    const withTe = await call(`${hub.url}/stream`, { headers: { te: 'trailers' } });
    expect(withTe.status).toBe(200);
    expect(withTe.body).toBe('part one, part two');
    expect(withTe.trailers).toEqual({
      'x-checksum': 'sha256=abc',
      'grpc-status': '0',
      'grpc-message': 'all%20good',
    });

    const without = await call(`${hub.url}/stream`, {});
    expect(without.body).toBe('part one, part two');
    expect(without.trailers).toEqual({});
    // the upstream learns the client takes trailers (gRPC servers require it)
    expect(seenTe).toEqual(['trailers', undefined]);
  });

  it('request trailers of a chunked upload reach the upstream with the whole body', async () => {
    const seen: Array<{
      body: string;
      trailers: Record<string, string | undefined>;
      te: string | undefined;
    }> = [];
    await using upstream = await startUpstream(async (req, res) => {
      const body = (await readAll(req)).toString();
      seen.push({ body, trailers: { ...req.trailers }, te: req.headers['transfer-encoding'] });
      res.end(`got ${body.length}`);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);

    const parts = ['a'.repeat(100_000), 'b'.repeat(300_000), 'tail'];
    const answer = await call(`${hub.url}/upload`, {
      method: 'POST',
      headers: { trailer: 'x-checksum', 'content-type': 'application/octet-stream' },
      body: parts,
      trailers: { 'x-checksum': 'crc32=deadbeef' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`got ${parts.join('').length}`);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toBe(parts.join(''));
    expect(seen[0]!.te).toBe('chunked');
    expect(seen[0]!.trailers).toEqual({ 'x-checksum': 'crc32=deadbeef' });
  });

  it('trailer fields that belong in a head are dropped; the response still completes', async () => {
    await using upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { trailer: 'x-ok, set-cookie, authorization' });
      res.write('body');
      res.addTrailers([
        ['X-Ok', 'yes'],
        ['Set-Cookie', 'a=b'],
        ['Authorization', 'Bearer late'],
      ]);
      res.end();
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const answer = await call(`${hub.url}/t`, { headers: { te: 'trailers' } });
    expect(answer.body).toBe('body');
    expect(answer.trailers).toEqual({ 'x-ok': 'yes' });
  });

  it('a client on HTTP/1.0 gets no trailers (no chunked framing to carry them)', async () => {
    await using upstream = await startUpstream((_req, res) => {
      res.write('x');
      res.addTrailers({ 'x-late': '1' });
      res.end();
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const { connect } = await import('node:net');
    const socket = connect(hub.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /old HTTP/1.0\r\nHost: x\r\nTE: trailers\r\n\r\n');
    const raw = (await readAll(socket)).toString();
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).not.toContain('x-late');
    expect(raw.endsWith('x')).toBe(true);
  });
});
