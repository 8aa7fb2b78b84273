/** Access rules, rate limits, the policy file and the engine that applies them. */
export { type AccessDecision, type AccessRules, ambiguousTarget, compileAccess } from './access.js';
export {
  BLOOM_PHASES,
  BLOOM_PLUGINS,
  type BloomPlugin,
  type Translation,
  translateBloomAccess,
  translateBloomRateLimits,
} from './bloom.js';
export { type ClientIpOptions, clientIpPolicy, compileTrustedProxies, resolveClientIp } from './client-ip.js';
export {
  createPolicyEngine,
  type PolicyEngine,
  type PolicyEngineOptions,
  validateWithSections,
} from './engine.js';
export { createIpSet, formatIp, type IpSet, normalizeIp, parseCidr, parseIp } from './ip.js';
export { compileMatch, type Matcher } from './match.js';
export { createMemoryStore, DEFAULT_MAX_COUNTERS, type MemoryStoreOptions } from './memory-store.js';
export { ambiguityOf, lenientPath } from './path-rules.js';
export {
  formatPolicy,
  loadPolicyFile,
  parsePolicyText,
  readPolicyDocument,
  readPolicyFile,
  savePolicyFile,
} from './policy-file.js';
export { normalizePath, type RequestView, viewOf } from './request-view.js';
export {
  type CompiledSection,
  type PolicySection,
  type PolicySections,
  SECTION_NAMES,
  type SectionName,
} from './section.js';
export type { CheckResult, CounterStore, LimitSpec, LimitState } from './store.js';
export type {
  AccessAction,
  AccessRule,
  Algorithm,
  MatchSpec,
  PathOptions,
  PolicyDoc,
  RateLimitRule,
  Unit,
  ValidationResult,
  ValueCondition,
} from './types.js';
export { validatePolicy } from './validate.js';
