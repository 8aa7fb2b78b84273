/**
 * The Slime hub: serves applications over HTTP and agents over WebSocket on one port, and
 * dispatches each application request to an agent that pulled work.
 *
 * @example
 * ```ts
 * import { createHub } from '@slime/hub';
 * const hub = createHub({ secret: 's3cret', port: 8080 });
 * await hub.listen();
 * ```
 */

export * from './admin/index.js';
export type { AgentConnection, AgentSnapshot } from './agents/agent-connection.js';
export {
  createTokenVerifier,
  type SignAgentTokenOptions,
  signAgentToken,
  TokenError,
  type TokenRejection,
  type TokenVerifier,
} from './agents/tokens.js';
export * from './cluster/index.js';
export { HubError, type HubErrorCode, statusOf, toHubError } from './errors.js';
export { writeProblem } from './http/problem.js';
export { createHub, type Hub, type HubAddress, type HubInternals, type HubPolicySlots } from './hub.js';
export * from './observability/index.js';
export type { HubOptions } from './options.js';
export { validateHubOptions } from './options.js';
export { compose } from './pipeline/compose.js';
export type { Policy, ProxyResponse, RequestContext, ResponseBody, RouteTarget } from './pipeline/context.js';
export type { ValidationResult } from './policy/index.js';
export * from './policy/index.js';
export * from './routing/index.js';
export * from './shaping/index.js';
export { assertTlsPair, TLS_CIPHERS, type TlsPair, tlsPairProblem } from './tls/tls-options.js';
