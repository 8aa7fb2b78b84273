/**
 * The Slime hub: serves applications over HTTP and agents over WebSocket on one port, and
 * dispatches each application request to an agent that pulled work.
 */
export {
  createTokenVerifier,
  type SignAgentTokenOptions,
  signAgentToken,
  TokenError,
  type TokenRejection,
  type TokenVerifier,
} from './agents/tokens.js';
export { HubError, type HubErrorCode, statusOf, toHubError } from './errors.js';
export type { HubOptions } from './options.js';
export { validateHubOptions } from './options.js';
export { compose } from './pipeline/compose.js';
export type { Policy, ProxyResponse, RequestContext, ResponseBody, RouteTarget } from './pipeline/context.js';
