/** Router and fallback: policy sections that choose where a request goes and where it goes next. */
export { type BloomTranslation, translateBloomFallback, translateBloomRouter } from './bloom-routing.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TRY_TIMEOUT_MS,
  type FallbackEndpoint,
  type FallbackRule,
  NAMED_OUTCOMES,
  type NamedOutcome,
  validateFallback,
} from './fallback-config.js';
export { type AttemptOutcome, compileFallback, type FallbackDeps } from './fallback-policy.js';
export { createFallbackSection, type FallbackSectionDeps } from './fallback-section.js';
export { endpointPath, type ForwardOptions, forwardToUrl } from './forward-to-url.js';
export { type RouterRule, validateRouter, type WeightedTarget } from './router-config.js';
export { compileRouter, createRouterSection, type RouterSectionDeps } from './router-section.js';
export { pickWeighted, stickyPoint } from './sticky.js';
