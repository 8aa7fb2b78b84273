/**
 * The Slime hub: serves applications over HTTP and agents over WebSocket on one port, and
 * dispatches each application request to an agent that pulled work. `createHub` assembles all of
 * it (policy engine, metrics, cluster, admin port) from one config.
 *
 * @example
 * ```ts
 * import { createHub } from '@slime/hub';
 * const hub = createHub({ secret: 's3cret', port: 8080, admin: { token: 'adm' } });
 * await hub.listen();
 * ```
 */

export type { AgentSnapshot } from './agents/agent-connection.js';
export {
  createTokenVerifier,
  type SignAgentTokenOptions,
  signAgentToken,
  type TokenVerifier,
} from './agents/tokens.js';
export { PRIORITIES, type Priority } from './apps/app-types.js';
// What `slime hub app` needs to change applications on a policy file (#22); `hashAppKey` is the
// stored form of a key, for policies written by code (bench scenario 11 does).
export {
  type AppEdit,
  type AppListing,
  addApp,
  DEFAULT_OVERLAP_MS,
  hashAppKey,
  listApps,
  type NewApp,
  removeApp,
  rotateApp,
} from './apps/index.js';
export { addToRevocationFile } from './cluster/file-revocations.js';
// What `slime hub revoke` needs to reach the deny list the hubs follow.
export { createRedisClient, DEFAULT_REDIS_TIMEOUT_MS, waitReady } from './cluster/redis-client.js';
export { FAIL_MODES, type FailMode } from './cluster/redis-store.js';
export { createRedisRevocations, type Revocation, type RevocationList } from './cluster/revocations.js';
export type { HubAdminConfig, HubClusterConfig, HubConfig, HubHooks } from './config.js';
export { createHub, type Hub } from './create-hub.js';
export { HubError, type HubErrorCode } from './errors.js';
export type { HubAddress } from './hub.js';
export type { HubMetrics, HubMetricsOptions } from './observability/hub-metrics.js';
export type { HubOptions } from './options.js';
export type { PolicyEngine } from './policy/engine.js';
export { loadPolicyFile, parsePolicyText, readPolicyDocument, savePolicyFile } from './policy/policy-file.js';
export type { PolicyDoc } from './policy/types.js';
export { validatePolicy } from './policy/validate.js';
export type { AttemptOutcome } from './routing/fallback-policy.js';
export type { Shaper, ShapingGroupStats } from './shaping/shaper.js';
export { assertTlsPair, TLS_CIPHERS, type TlsPair, tlsPairProblem } from './tls/tls-options.js';
