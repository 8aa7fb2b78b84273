import { type PolicySections, SECTION_NAMES } from './section.js';
import type { ValidationResult } from './types.js';
import { validatePolicy } from './validate.js';

/**
 * Checks a policy document as an engine with these sections would: the core rules and every
 * section, all problems at once (each prefixed by its path).
 */
export function validateWithSections(policy: unknown, modules: PolicySections): ValidationResult {
  const r = validatePolicy(policy ?? {});
  const errors = r.ok ? [] : [...r.errors];
  const raw = (policy ?? {}) as Record<string, unknown>;
  for (const name of SECTION_NAMES) {
    const module = modules[name];
    if (module && typeof raw === 'object' && raw[name] !== undefined)
      errors.push(...module.validate(raw[name], name));
  }
  return r.ok && errors.length === 0 ? r : { ok: false, errors };
}
