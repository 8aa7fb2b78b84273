import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { HubError } from '../../src/errors.js';
import { type BodyProducer, BodyReadable } from '../../src/streams/body-readable.js';
import { countReads } from '../../src/streams/count-reads.js';
import { StreamResponseBody } from '../../src/streams/response-body.js';

function producer() {
  const p = { taken: 0, cancelled: [] as string[] };
  const api: BodyProducer = {
    consumed: (n) => {
      p.taken += n;
    },
    cancel: (reason) => {
      p.cancelled.push(reason);
    },
  };
  return { p, api };
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/** A client response that takes one chunk per `release()` (a slow reader), recording what it got. */
function slowResponse() {
  const got: Uint8Array[] = [];
  const waiting: Array<() => void> = [];
  const res = new Writable({
    highWaterMark: 1,
    write(chunk: Uint8Array, _enc, cb) {
      got.push(chunk);
      waiting.push(cb);
    },
  });
  Object.assign(res, { req: { httpVersionMajor: 1, httpVersionMinor: 1, headers: {} } });
  const release = () => waiting.shift()?.();
  return { res: res as unknown as ServerResponse, got, release, waiting };
}

describe('BodyReadable (no sockets)', () => {
  it('tells the producer of every byte the consumer took, including those read after the last push', async () => {
    const { p, api } = producer();
    const body = new BodyReadable(api, 16);
    for (let i = 0; i < 4; i++) body.feed(bytes(10));
    // nobody read: nothing to credit, whatever was pushed
    expect(p.taken).toBe(0);
    body.read(10);
    expect(p.taken).toBe(10);
    // the producer sends nothing more (it waits for credit): the rest must still be credited
    while (body.read() !== null) {}
    expect(p.taken).toBe(40);
  });

  it('credits a flowing consumer as it goes, and a consumer that gives up early stops the producer', async () => {
    const { p, api } = producer();
    const body = new BodyReadable(api);
    const seen: number[] = [];
    body.on('data', (c: Uint8Array) => seen.push(c.byteLength));
    body.feed(bytes(5));
    body.feed(bytes(7));
    await vi.waitFor(() => expect(p.taken).toBe(12));
    expect(seen).toEqual([5, 7]);
    body.destroy();
    expect(p.cancelled).toHaveLength(1);
  });

  it('a body read to its end does not cancel its producer', async () => {
    const { p, api } = producer();
    const body = new BodyReadable(api);
    body.feed(bytes(3));
    body.push(null);
    body.resume();
    await once(body, 'end');
    body.destroy();
    expect(p.cancelled).toEqual([]);
    expect(p.taken).toBe(3);
  });
});

describe('StreamResponseBody (no sockets)', () => {
  it('holds what arrives before anyone reads (push says wait), then reads it all in order', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    expect(body.push(bytes(2, 1))).toBe(false);
    expect(body.push(bytes(3, 2))).toBe(false);
    body.end();
    const all = await body.readAll(100);
    expect([...all]).toEqual([1, 1, 2, 2, 2]);
    expect(p.cancelled).toEqual([]);
  });

  it('readAll past its limit fails and stops the producer', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    body.push(bytes(60));
    const reading = body.readAll(100);
    body.push(bytes(60));
    await expect(reading).rejects.toMatchObject({ code: 'ERR_HUB_UPSTREAM_ERROR' });
    expect(p.cancelled.some((r) => r.includes('spool limit'))).toBe(true);
  });

  it('a failure before or during reading reaches the reader; nothing held is handed out after it', async () => {
    const err = new HubError('ERR_HUB_UPSTREAM_ERROR', 'broke its framing');
    const early = new StreamResponseBody(producer().api);
    early.push(bytes(4));
    early.fail(err);
    expect(early.failure).toBe(err);
    await expect(early.readAll(100)).rejects.toBe(err);

    const late = new StreamResponseBody(producer().api);
    const reading = late.readAll(100);
    late.push(bytes(4));
    late.fail(err);
    await expect(reading).rejects.toBe(err);
    expect(late.push(bytes(1))).toBe(false);
  });

  it('discard drops the body and cancels the producer', () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    body.push(bytes(4));
    body.discard('fallback tries another endpoint');
    expect(p.cancelled).toEqual(['fallback tries another endpoint']);
  });

  it('pipes at the client’s pace: credit goes back only for what the client took', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const client = slowResponse();
    const counted: number[] = [];
    body.countBytes((n) => counted.push(n));
    body.push(bytes(10));
    const piped = body.pipe(client.res);
    // one chunk is with the client, unacknowledged; more arrive meanwhile
    await vi.waitFor(() => expect(client.got).toHaveLength(1));
    body.push(bytes(10));
    body.push(bytes(10));
    await new Promise((r) => setImmediate(r));
    expect(client.got).toHaveLength(1);
    expect(p.taken).toBeLessThanOrEqual(20);
    for (let i = 0; i < 3; i++) {
      client.release();
      await new Promise((r) => setImmediate(r));
    }
    body.end();
    await vi.waitFor(() => expect(client.got).toHaveLength(3));
    client.release();
    await piped;
    expect(p.taken).toBe(30);
    expect(counted).toEqual([10, 10, 10]);
  });

  it('writes each piece to the client as it arrives and credits it at once', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const got: number[] = [];
    const res = new Writable({
      write(chunk: Uint8Array, _enc, cb) {
        got.push(chunk.byteLength);
        cb();
      },
    }) as unknown as ServerResponse;
    const piped = body.pipe(res);
    // no tick in between: the piece is with the client and credited
    expect(body.push(bytes(7))).toBe(true);
    expect(got).toEqual([7]);
    expect(p.taken).toBe(7);
    body.push(bytes(5));
    expect(got).toEqual([7, 5]);
    body.end();
    await piped;
    expect(p.taken).toBe(12);
    expect(p.cancelled).toEqual([]);
  });

  it('held while the client is behind: push says wait past the high-water mark, the end waits for the rest', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const client = slowResponse();
    const piped = body.pipe(client.res);
    body.push(bytes(10));
    // the client is behind now: the rest is held, and the producer told to wait past 64 KiB
    expect(body.push(bytes(40 * 1024))).toBe(true);
    expect(body.push(bytes(40 * 1024))).toBe(false);
    body.end();
    expect(p.taken).toBe(10);
    let ended = false;
    void piped.then(() => {
      ended = true;
    });
    for (let i = 0; i < 3; i++) {
      client.release();
      await vi.waitFor(() => expect(client.got).toHaveLength(Math.min(i + 2, 3)));
    }
    await piped;
    expect(ended).toBe(true);
    expect(client.got.map((c) => c.byteLength)).toEqual([10, 40 * 1024, 40 * 1024]);
    expect(p.taken).toBe(10 + 80 * 1024);
  });

  it('a failure while piping destroys the client response, fails the pipe, and stops the producer', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const client = slowResponse();
    client.res.on('error', () => {});
    const piped = body.pipe(client.res);
    body.push(bytes(3));
    const err = new HubError('ERR_HUB_AGENT_LOST', 'agent lost');
    body.fail(err);
    await expect(piped).rejects.toBe(err);
    expect(client.res.destroyed).toBe(true);
    expect(p.cancelled).toEqual(['agent lost']);
    expect(body.push(bytes(1))).toBe(false);
    expect(client.got).toHaveLength(1);
  });

  it('a client that leaves mid-body: the pipe fails as client gone, the producer stops, nothing more is written', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const client = slowResponse();
    const piped = body.pipe(client.res);
    body.push(bytes(3));
    client.res.destroy();
    await expect(piped).rejects.toMatchObject({ code: 'ERR_HUB_CLIENT_GONE' });
    expect(p.cancelled).toEqual(['client went away']);
    expect(body.push(bytes(1))).toBe(false);
    expect(client.got).toHaveLength(1);
  });

  it('what arrived before the pipe follows on the next tick, before anything that arrives later', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    const got: number[] = [];
    const res = new Writable({
      write(chunk: Uint8Array, _enc, cb) {
        got.push(chunk.byteLength);
        cb();
      },
    }) as unknown as ServerResponse;
    body.push(bytes(1));
    body.push(bytes(2));
    const piped = body.pipe(res);
    body.push(bytes(3));
    expect(got).toEqual([]);
    body.end();
    await piped;
    expect(got).toEqual([1, 2, 3]);
    expect(p.taken).toBe(6);
  });

  it('a complete body is written in one go without a stream, and counted', async () => {
    const { api } = producer();
    const body = new StreamResponseBody(api);
    const counted: number[] = [];
    body.countBytes((n) => counted.push(n));
    body.push(bytes(12));
    body.end();
    const client = slowResponse();
    const piped = body.pipe(client.res);
    client.release();
    await piped;
    expect(client.got.map((c) => c.byteLength)).toEqual([12]);
    expect(counted).toEqual([12]);
  });

  it('a client that left before its body started: the pipe fails as client gone and the producer stops', async () => {
    const { p, api } = producer();
    const body = new StreamResponseBody(api);
    body.push(bytes(4));
    const client = slowResponse();
    client.res.destroy();
    await expect(body.pipe(client.res)).rejects.toMatchObject({ code: 'ERR_HUB_CLIENT_GONE' });
    expect(p.cancelled).toEqual(['client went away']);
  });

  it('a failed body refuses to pipe: the client connection is destroyed', async () => {
    const err = new HubError('ERR_HUB_AGENT_LOST', 'agent lost');
    const body = new StreamResponseBody(producer().api);
    body.fail(err);
    const client = slowResponse();
    client.res.on('error', () => {});
    await expect(body.pipe(client.res)).rejects.toBe(err);
    expect(client.res.destroyed).toBe(true);
  });
});

describe('countReads (no sockets)', () => {
  it('counts what a reader takes without starting the body itself', async () => {
    const source = new PassThrough();
    source.write(bytes(5));
    source.write(bytes(6));
    source.end();
    const counted: number[] = [];
    countReads(source, (n) => counted.push(n));
    await new Promise((r) => setImmediate(r));
    // nobody reads yet: the body has not flowed anywhere
    expect(counted).toEqual([]);
    expect(source.readableLength).toBe(11);
    const chunks: Uint8Array[] = [];
    for await (const c of source) chunks.push(c as Uint8Array);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(11);
    expect(Buffer.concat(chunks).byteLength).toBe(11);
  });
});
