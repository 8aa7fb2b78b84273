import { canonicalJson } from '../policy/canonical.js';
import type { CompiledSection, PolicySection } from '../policy/section.js';
import { createShaper, type Shaper, type ShaperDeps } from './shaper.js';
import { createShapingPolicy } from './shaping-policy.js';
import { validateShapingConfig } from './validate-shaping-config.js';

/** What each shaper and its policy get: clock, randomness, timers, logger, fetch, onRejected. */
export type ShapingSectionDeps = ShaperDeps;

/** The shaping section in force: its shaper, for metrics and status. */
export interface CompiledShaping extends CompiledSection {
  readonly shaper: Shaper | undefined;
  readonly key: string;
}

/**
 * The policy file's `shaping` section as a policy-engine section: validated with the rest of the
 * document, built into a shaper whose policy runs in the pipeline's shaping slot.
 *
 * An update that leaves the section unchanged keeps the running shaper, so learned limits and
 * pacing state survive edits to other sections. A changed section starts afresh: requests
 * already admitted finish under the old shaper, so for a moment the upstream can see up to the
 * old plus the new limit (logged).
 */
export function createShapingSection(deps: ShapingSectionDeps): PolicySection {
  if (typeof deps !== 'object' || deps === null) throw new TypeError('deps must be an object');
  if (typeof deps.now !== 'function') throw new TypeError('now must be a function');
  if (typeof deps.random !== 'function') throw new TypeError('random must be a function');
  const log = deps.logger?.child({ component: 'shaping' });
  return {
    validate(raw, path) {
      const r = validateShapingConfig(raw, path);
      return r.ok ? [] : r.errors;
    },
    compile(raw, previous): CompiledShaping {
      const key = raw === undefined ? '' : canonicalJson(raw);
      const prev = previous as CompiledShaping | undefined;
      if (prev && prev.key === key) return prev;
      if (raw === undefined) return { shaper: undefined, key };
      const r = validateShapingConfig(raw, 'shaping');
      if (!r.ok) throw new Error(r.errors.join('; '));
      const shaper = createShaper(r.value, {
        now: deps.now,
        random: deps.random,
        ...(log ? { logger: log } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.onRejected ? { onRejected: deps.onRejected } : {}),
        ...(deps.timers ? { timers: deps.timers } : {}),
      });
      shaper.start();
      if (prev?.shaper) log?.info('shaping section changed: limits and pacing start afresh');
      return {
        shaper,
        key,
        policy: createShapingPolicy(shaper, {
          now: deps.now,
          random: deps.random,
          ...(deps.timers ? { timers: deps.timers } : {}),
        }),
        dispose: () => shaper.close(),
      };
    },
  };
}
