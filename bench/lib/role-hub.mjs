// A hub in its own process (built package: packages/hub/dist).
import * as hubModule from '@slime/hub';

/**
 * `policy`: a policy document applied through the hub's policy engine (scenarios 7 and 8), with
 * the shaping section wired as `slime hub run` does.
 */
export async function start({ secret, options = {}, policy }) {
  const internals = {};
  let engine;
  if (policy) {
    const sections =
      typeof hubModule.createShapingSection === 'function'
        ? { shaping: hubModule.createShapingSection({ now: Date.now, random: Math.random }) }
        : {};
    engine = hubModule.createPolicyEngine({ policy, sections });
    internals.policies = engine.slots();
    // applications (#22): keys, weights and queue limits for the fair queue
    if (typeof engine.apps === 'function') internals.apps = engine.apps;
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
      shapingStats: () => engine?.section?.('shaping')?.shaper?.stats() ?? [],
    },
  };
}
