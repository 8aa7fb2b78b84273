import type { Logger } from 'pino';
import type { Policy } from '../pipeline/context.js';
import type { PolicySection } from '../policy/section.js';
import { checkKeys, checkMatch, objectsOf, type Report } from '../policy/validate-match.js';

/**
 * Checks a section that is a list of named rules (router, fallback): the list itself, each rule's
 * known keys, unique optional names and `match`; `checkRule` adds the section's own fields.
 * Returns every problem, each prefixed by its path.
 */
export function validateRuleList(
  raw: unknown,
  path: string,
  rule: { keys: readonly string[]; shape: string },
  checkRule: (r: Record<string, unknown>, path: string, report: Report) => void,
): string[] {
  if (!Array.isArray(raw)) return [`${path} must be a list of rules`];
  const errors: string[] = [];
  const report: Report = (p, m) => errors.push(`${p} ${m}`);
  const names = new Set<string>();
  for (const [r, p] of objectsOf(raw, path, report, rule.shape)) {
    checkKeys(r, rule.keys, p, report);
    if (r.name !== undefined) {
      if (typeof r.name !== 'string' || r.name === '') report(`${p}.name`, 'must be a non-empty string');
      else if (names.has(r.name)) report(`${p}.name`, `duplicates another rule's name "${r.name}"`);
      else names.add(r.name);
    }
    if (r.match !== undefined) checkMatch(r.match, `${p}.match`, report);
    checkRule(r, p, report);
  }
  return errors;
}

/**
 * A stateless section made of a rule list (router, fallback): `validate` checks it, `compile`
 * turns the rules into the section's policy, and an update simply swaps them.
 */
export function ruleListSection<R>(
  name: string,
  logger: Logger | undefined,
  validate: (raw: unknown, path: string) => string[],
  compile: (rules: R[]) => Policy,
): PolicySection {
  const log = logger?.child({ component: name });
  return {
    validate,
    compile(raw) {
      // the engine validated the whole document before compiling any section
      if (raw === undefined) return {};
      const rules = raw as R[];
      log?.info({ rules: rules.length }, `${name} rules compiled`);
      return { policy: compile(rules) };
    },
  };
}
