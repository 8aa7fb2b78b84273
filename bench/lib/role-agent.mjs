// One or more real agents (packages/agent/dist) in one process.
import { createAgent } from '@slime/agent';
import { applyCliHeapTuning } from './cli-heap.mjs';
import { cliLogger } from './cli-logger.mjs';
import { traceUpstream } from './stage-trace.mjs';

// `log`: a level for the CLI's default logger (cli-logger.mjs); without it the agent logs nothing.
applyCliHeapTuning();

export async function start({ token, hub, upstream, numWorker = 1, count = 1, options = {}, log }) {
  const logger = log ? cliLogger(log) : undefined;
  const agents = [];
  for (let i = 0; i < count; i++) {
    const agent = createAgent({
      token,
      hub,
      upstream,
      numWorker,
      reconnectBaseMs: 20,
      reconnectMaxMs: 200,
      ...(logger ? { logger } : {}),
      ...options,
    });
    agent.start();
    agents.push(agent);
  }
  await Promise.all(agents.map((a) => a.ready()));
  return { info: { ids: agents.map((a) => a.hubAgentId) }, handlers: { traceUpstream } };
}
