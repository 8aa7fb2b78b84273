import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startHub } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';

const MiB = 1024 * 1024;

describe('response windows auto-tune (docs/protocol.md §11.1)', () => {
  it("a fast client's stream is granted more than the announced window, within the 8 MiB max, and gets every byte", async () => {
    await using hub = await startHub({ streamWindow: 256 * 1024 });
    // an agent of the oldest version: growth needs nothing of the sender but adding increments
    const agent = await rawAgent(hub.url, { maxVersion: 1 });
    const announced = agent.welcome.streamWindow;
    expect(announced).toBe(256 * 1024);
    agent.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));

    const total = 48 * MiB;
    const res = request(`${hub.url}/big`);
    const req = await agent.next('REQUEST');
    agent.send({
      type: 'RESPONSE',
      streamId: req.streamId,
      endStream: false,
      status: 200,
      headers: [['content-length', String(total)]],
    });
    const received = (async () => {
      const { body } = await res;
      let n = 0;
      for await (const chunk of body) n += chunk.length;
      return n;
    })();
    // the agent sends as far as its window lets it and notes the most it was ever allowed
    const chunk = Buffer.alloc(64 * 1024, 7);
    let window = announced;
    let peak = window;
    let sent = 0;
    while (sent < total) {
      if (window === 0) {
        const w = await agent.next('WINDOW');
        expect(w.streamId).toBe(req.streamId);
        window += w.increment;
        peak = Math.max(peak, window);
        continue;
      }
      const n = Math.min(chunk.length, window, total - sent);
      agent.send({ type: 'DATA', streamId: req.streamId, data: chunk.subarray(0, n) });
      window -= n;
      sent += n;
    }
    agent.send({ type: 'END', streamId: req.streamId });
    expect(await received).toBe(total);
    expect(peak).toBeGreaterThanOrEqual(2 * announced);
    expect(peak).toBeLessThanOrEqual(8 * MiB);
    agent.ws.close();
  });
});
