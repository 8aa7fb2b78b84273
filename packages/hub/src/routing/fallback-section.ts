import type { Logger } from 'pino';
import type { PolicySection } from '../policy/section.js';
import { createSpoolBudget } from './body-spool.js';
import { type FallbackRule, validateFallback } from './fallback-config.js';
import { type AttemptOutcome, compileFallback, DEFAULT_SPOOL_BUDGET_BYTES } from './fallback-policy.js';
import { ruleListSection } from './rule-list.js';

export interface FallbackSectionDeps {
  logger?: Logger;
  /** One call per endpoint considered, e.g. `metrics.fallbackAttempt`. */
  onAttempt?: (outcome: AttemptOutcome) => void;
  /** Bytes all requests' replay copies may hold together, across policy updates. Default 256 MiB. */
  spoolBudgetBytes?: number;
}

/**
 * The policy file's `fallback` section: on listed outcomes (statuses, `no-agent`, `timeout`) the
 * request is sent to an ordered list of endpoints (agent groups or URLs) with extra headers and
 * params, its body replayed, each try bounded by a timeout. Stateless: an update swaps the rules.
 *
 * @example
 * ```ts
 * createPolicyEngine({ sections: { fallback: createFallbackSection({ onAttempt: metrics.fallbackAttempt }) } });
 * ```
 */
export function createFallbackSection(deps: FallbackSectionDeps = {}): PolicySection {
  if (typeof deps !== 'object' || deps === null) throw new TypeError('deps must be an object');
  if (deps.onAttempt !== undefined && typeof deps.onAttempt !== 'function')
    throw new TypeError('onAttempt must be a function');
  // one budget for the section's lifetime, so an update does not hand out a fresh one
  const spoolBudget = createSpoolBudget(deps.spoolBudgetBytes ?? DEFAULT_SPOOL_BUDGET_BYTES);
  return ruleListSection<FallbackRule>('fallback', deps.logger, validateFallback, (rules) =>
    compileFallback(rules, { onAttempt: deps.onAttempt, spoolBudget }),
  );
}
