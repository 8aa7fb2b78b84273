import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';
import { captureLog } from './helpers/log-capture.js';

/** A TCP relay to `port` whose connections can be cut, so an agent behind it reconnects. */
async function relay(port: number) {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const hub = createConnection(port, '127.0.0.1');
    for (const s of [client, hub]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    client.pipe(hub).pipe(client);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    cut: () => {
      for (const s of open) s.destroy();
    },
    [Symbol.asyncDispose]: async () => {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

const BODY = Buffer.alloc(2 * 1024 * 1024, 7);

// Per-connection state the hub makes only when an agent first needs it (its child logger, health
// state, window budget): an agent idle since connecting still serves its first stream, and a
// reconnected agent gets fresh state on its new connection.
describe('an agent connection idle since HELLO', () => {
  it('serves its first streams, logs as its own, and serves again after reconnecting', async () => {
    await using upstream = await startUpstream((_req, res) => res.end(BODY));
    const log = captureLog('info');
    await using hub = await startHub({ logger: log.logger });
    await using link = await relay(hub.port);
    await using agent = await startAgent(link, upstream, { name: 'lazy' });
    const connected = () => log.lines.filter((l) => l.msg === 'agent connected');
    const firstId = agent.agent.hubAgentId;
    expect(connected()).toEqual([expect.objectContaining({ agent: firstId, name: 'lazy' })]);

    for (let i = 0; i < 2; i++) {
      const res = await request(`${hub.url}/x`);
      expect((await res.body.arrayBuffer()).byteLength).toBe(BODY.length);
    }

    link.cut();
    await vi.waitFor(() => expect(connected()).toHaveLength(2), { timeout: 5000 });
    await vi.waitFor(() => expect(hub.hub.agents().map((a) => a.state)).toEqual(['ready']));
    const secondId = hub.hub.agents()[0]!.id;
    expect(secondId).not.toBe(firstId);
    expect(connected()[1]).toMatchObject({ agent: secondId, name: 'lazy' });
    expect(log.lines).toContainEqual(expect.objectContaining({ agent: firstId, msg: 'agent disconnected' }));
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBeGreaterThan(0));
    const res = await request(`${hub.url}/x`);
    expect(res.headers['slime-agent-id']).toBe(secondId);
    expect((await res.body.arrayBuffer()).byteLength).toBe(BODY.length);
  });
});
