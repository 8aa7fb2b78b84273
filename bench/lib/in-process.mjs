// Upstream, hub and one agent in the probe's own process, from the built checkout at `root` (so a
// probe can compare two checkouts). The probes under bench/probes start their chain with this.
import { once } from 'node:events';
import { createServer } from 'node:http';

/**
 * Starts an upstream serving `handler`, a hub and one agent for it (`numWorker` slots); extra
 * `hubOptions`/`agentOptions` are spread in (a logger, say). Resolves once the agent is ready.
 */
export async function startChain(root, handler, { numWorker = 1, hubOptions = {}, agentOptions = {} } = {}) {
  const { createHub, signAgentToken } = await import(`${root}/packages/hub/dist/index.js`);
  const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
  const up = createServer(handler);
  // a backlog for connection bursts (Node's default 511 drops SYNs there)
  up.listen(0, '127.0.0.1', 4096);
  await once(up, 'listening');
  const upUrl = `http://127.0.0.1:${up.address().port}`;
  const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0, ...hubOptions });
  const { url } = await hub.listen();
  const token = await signAgentToken({ secret: 's', name: 'probe' });
  const agent = createAgent({ hub: url, upstream: upUrl, token, numWorker, ...agentOptions });
  agent.start();
  await agent.ready();
  return {
    up,
    upUrl,
    hub,
    agent,
    url,
    token,
    async close() {
      await agent.close();
      await hub.close();
      up.close();
    },
  };
}
