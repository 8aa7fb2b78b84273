// A hub in its own process (built package: packages/hub/dist).
import * as hubModule from '@slime/hub';

/** `policy`: a policy document applied through the hub's policy engine (scenario 7). */
export async function start({ secret, options = {}, policy }) {
  const internals = {};
  if (policy) {
    const engine = hubModule.createPolicyEngine({ policy });
    internals.policies = engine.slots();
  }
  const hub = hubModule.createHub({ secret, host: '127.0.0.1', port: 0, ...options }, internals);
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
