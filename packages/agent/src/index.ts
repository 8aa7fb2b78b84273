/**
 * The Slime agent: runs beside an upstream, dials out to a hub over WebSocket, pulls requests and
 * forwards them to the upstream with undici.
 *
 * @example
 * ```ts
 * import { createAgent } from '@slime/agent';
 * const agent = createAgent({ token, hub: 'http://hub:8080', upstream: '127.0.0.1:9000' });
 * agent.start();
 * await agent.ready();
 * ```
 */
export { type Agent, createAgent } from './agent.js';
export { backoffDelay } from './backoff.js';
export { AgentError, type AgentErrorCode } from './errors.js';
export { type HubTlsOptions, publicKeyPin, validateHubTls } from './hub-tls.js';
export {
  type AgentCallResult,
  type AgentMetrics,
  createAgentMetrics,
  type MetricsServer,
  type ServeMetricsOptions,
  serveMetrics,
} from './metrics.js';
export {
  type AgentOptions,
  hubList,
  hubUrl,
  type UpstreamTarget,
  upstreamTarget,
  validateAgentOptions,
} from './options.js';
export { UpstreamConnections, type UpstreamConnectionsOptions } from './upstream-connections.js';
