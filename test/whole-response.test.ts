import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { deferred, startAgent, startHub, startUpstream } from './helpers/harness.js';

/**
 * The agent holds a response head for the rest of the turn in which undici parsed it: a response
 * complete by then goes to the hub as RESPONSE + DATA + END in one write, anything else frame by
 * frame as before. Both ways must look the same to the client.
 */
describe('small responses sent whole, larger and streaming ones frame by frame', () => {
  it.each([0, 1, 12, 120, 121, 16 * 1024, 16 * 1024 + 1, 300_000])(
    'relays a %i-byte body with its status and fields unchanged',
    async (n) => {
      const body = Buffer.alloc(n, 'b');
      for (let i = 0; i < n; i += 97) body[i] = i % 251;
      await using upstream = await startUpstream((_req, res) => {
        res.writeHead(
          n === 0 ? 204 : 201,
          [
            ['x-one', '1'],
            ['set-cookie', 'a=1'],
            ['x-latin1', Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1')],
            ['set-cookie', 'b=2'],
          ].flat(),
        );
        res.end(body);
      });
      await using hub = await startHub();
      await using _agent = await startAgent(hub, upstream);
      for (let round = 0; round < 3; round++) {
        const res = await request(`${hub.url}/x`);
        expect(res.statusCode).toBe(n === 0 ? 204 : 201);
        expect(res.headers['x-one']).toBe('1');
        expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
        expect(Buffer.from(res.headers['x-latin1'] as string, 'latin1')).toEqual(
          Buffer.from([0x63, 0x61, 0x66, 0xe9]),
        );
        expect(Buffer.compare(Buffer.from(await res.body.arrayBuffer()), body)).toBe(0);
      }
    },
  );

  it('does not hold a streaming head back until its body ends', async () => {
    const release = deferred();
    await using upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      void release.promise.then(() => res.end('last'));
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const res = await request(`${hub.url}/stream`);
    // the head and the first chunk arrived while the upstream still holds the rest
    expect(res.statusCode).toBe(200);
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    expect(String(first.value)).toBe('first ');
    release.resolve();
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value);
    expect(rest).toBe('last');
  });

  it.each([
    ['complete in one read', false],
    ['streaming', true],
  ])('answers 502 for a %s response whose head is past the protocol limits', async (_what, streaming) => {
    await using upstream = await startUpstream((_req, res) => {
      // 300 fields: more than a RESPONSE frame may carry (256)
      for (let i = 0; i < 300; i++) res.setHeader(`x-f${i}`, 'v');
      if (streaming) {
        res.write('part');
        setTimeout(() => res.end(), 50);
      } else {
        res.end('small');
      }
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream);
    const res = await request(`${hub.url}/many`);
    expect(res.statusCode).toBe(502);
    await res.body.dump();
    // the agent is still fine afterwards
    const again = await request(`${hub.url}/many`);
    expect(again.statusCode).toBe(502);
    await again.body.dump();
  });
});
