// One or more real agents (packages/agent/dist) in one process.
import { createAgent } from '@slime/agent';

export async function start({ token, hub, upstream, numWorker = 1, count = 1, options = {} }) {
  const agents = [];
  for (let i = 0; i < count; i++) {
    const agent = createAgent({
      token,
      hub,
      upstream,
      numWorker,
      reconnectBaseMs: 20,
      reconnectMaxMs: 200,
      ...options,
    });
    agent.start();
    agents.push(agent);
  }
  await Promise.all(agents.map((a) => a.ready()));
  return { info: { ids: agents.map((a) => a.hubAgentId) } };
}
