// One or more real agents (packages/agent/dist) in one process.
import diagnostics from 'node:diagnostics_channel';
import { createAgent } from '@slime/agent';
import { applyCliHeapTuning } from './cli-heap.mjs';
import { cliLogger } from './cli-logger.mjs';
import { nowMs } from './clock.mjs';

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

// When this process's undici requests were made and got their heads (nowMs, one clock across
// processes), from undici's diagnostics channels: bench/probes/sse-burst-timeline.mjs. The first
// call subscribes; each call returns what was seen since the last one.
let trace = null;
function traceUpstream() {
  if (trace === null) {
    trace = { created: [], headers: [] };
    diagnostics.subscribe('undici:request:create', () => trace.created.push(nowMs()));
    diagnostics.subscribe('undici:request:headers', () => trace.headers.push(nowMs()));
    return { created: [], headers: [] };
  }
  const out = trace;
  trace = { created: [], headers: [] };
  return out;
}
