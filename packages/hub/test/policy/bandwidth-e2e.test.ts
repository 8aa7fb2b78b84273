import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startAgent, startHub, startUpstream } from '../../../../test/helpers/harness.js';

describe('bandwidth limits through a real hub', () => {
  it('charges streamed response bytes, so the limit trips once the bytes are used', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('x'.repeat(600)));
    await using hub = await startHub({
      policy: { ratelimits: [{ name: 'egress', unit: 'bytes', limit: 1000, window: '1m' }] },
    });
    const { metrics } = hub.hub;
    await using _agent = await startAgent(hub, upstream);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(`${hub.url}/download`);
      statuses.push(res.statusCode);
      await res.body.text();
    }
    // 600 bytes used -> admitted; 1200 used -> over the limit: only response bytes could have done it
    expect(statuses).toEqual([200, 200, 429]);
    expect(upstream.count).toBe(2);
    // the refusal is counted under the rule's name
    await vi.waitFor(async () =>
      expect(await metrics.registry.metrics()).toMatch(/slime_ratelimit_limited_total\{rule="egress"\} 1/),
    );
  });

  it('charges a streamed (chunked) request body as it is read from the client, once per byte', async () => {
    await using upstream = await startUpstream(async (req, res) => {
      for await (const _ of req) {
      }
      res.end('ok');
    });
    await using hub = await startHub({
      policy: { ratelimits: [{ name: 'ingress', unit: 'bytes', limit: 1000, window: '1m' }] },
    });
    await using _agent = await startAgent(hub, upstream);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      // no Content-Length: the bytes can only be charged as they flow
      const body = Readable.from([Buffer.alloc(300, 1), Buffer.alloc(300, 2)]);
      const res = await request(`${hub.url}/upload`, { method: 'POST', body });
      statuses.push(res.statusCode);
      await res.body.text();
    }
    // 602 bytes used (600 in, 2 out) -> admitted; 1204 -> over: only the request bytes could do it
    expect(statuses).toEqual([200, 200, 429]);
    expect(upstream.count).toBe(2);
  });
});
