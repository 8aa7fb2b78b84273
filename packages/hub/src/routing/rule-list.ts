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
