// A hub in its own process (built package: packages/hub/dist).
import { createHub } from '@slime/hub';

export async function start({ secret, options = {} }) {
  const hub = createHub({ secret, host: '127.0.0.1', port: 0, ...options });
  const { url, port } = await hub.listen();
  return {
    info: { url, port },
    handlers: {
      stats: () => ({
        queueLength: hub.queueLength,
        activeRequests: hub.activeRequests,
        agents: hub.agents().length,
      }),
    },
  };
}
