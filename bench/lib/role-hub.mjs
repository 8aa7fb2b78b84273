// A hub in its own process (built package: packages/hub/dist).
import * as hubModule from '@slime/hub';
import { applyCliHeapTuning } from './cli-heap.mjs';
import { cliLogger } from './cli-logger.mjs';
import { traceServer } from './stage-trace.mjs';

/**
 * `policy`: a policy document applied through the hub's policy engine (scenarios 7 and 8), assembled
 * by createHub as `slime hub run` does. `log`: a level for the CLI's default logger (cli-logger.mjs);
 * without it the hub logs nothing (createHub's library default).
 */
applyCliHeapTuning();

export async function start({ secret, options = {}, policy, log }) {
  const hub = hubModule.createHub({
    secret,
    host: '127.0.0.1',
    port: 0,
    metrics: { defaultMetrics: false },
    ...(log ? { logger: cliLogger(log) } : {}),
    ...options,
    ...(policy ? { policy } : {}),
  });
  const { url, port } = await hub.listen();
  return {
    info: { url, port },
    handlers: {
      stats: () => ({
        queueLength: hub.queueLength,
        activeRequests: hub.activeRequests,
        agents: hub.agents().length,
      }),
      shapingStats: () => hub.shaping(),
      traceServer,
    },
  };
}
