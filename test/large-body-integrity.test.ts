import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

/**
 * A body whose every byte depends on its position and whose pieces vary in size (1 byte to
 * 200 KiB), so a DATA frame merged, split or delivered out of order changes its digest.
 */
function* pieces(seed: number, total: number): Generator<Buffer> {
  let sent = 0;
  let i = 0;
  while (sent < total) {
    const size = Math.min(total - sent, i % 7 === 0 ? 1 + (i % 13) : 1024 * (1 + ((i * 37) % 200)));
    const b = Buffer.allocUnsafe(size);
    for (let k = 0; k < size; k++) b[k] = (sent + k + seed) & 0xff;
    b[0] = i & 0xff;
    yield b;
    sent += size;
    i++;
  }
}

function digestOf(seed: number, total: number): string {
  const h = createHash('sha256');
  for (const p of pieces(seed, total)) h.update(p);
  return h.digest('hex');
}

const SIZE = 12 * 1024 * 1024;

describe('large bodies arrive byte for byte', () => {
  it('several downloads and uploads at once through one agent keep every stream’s bytes in order', async () => {
    await using upstream = await startUpstream(async (req, res) => {
      const seed = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seed'));
      if (req.method === 'POST') {
        const h = createHash('sha256');
        for await (const c of req) h.update(c as Buffer);
        res.end(h.digest('hex'));
        return;
      }
      res.setHeader('content-length', SIZE);
      Readable.from(pieces(seed, SIZE)).pipe(res);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 8 });
    const download = async (seed: number) => {
      const res = await request(`${hub.url}/d?seed=${seed}`);
      const h = createHash('sha256');
      for await (const c of res.body) h.update(c as Buffer);
      return h.digest('hex');
    };
    const upload = async (seed: number) => {
      const res = await request(`${hub.url}/u?seed=${seed}`, {
        method: 'POST',
        body: Readable.from(pieces(seed, SIZE)),
      });
      return res.body.text();
    };
    const seeds = [1, 2, 3];
    const got = await Promise.all([...seeds.map(download), ...seeds.map(upload)]);
    const want = seeds.map((s) => digestOf(s, SIZE));
    expect(got).toEqual([...want, ...want]);
  });
});
