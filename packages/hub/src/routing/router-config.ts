import type { MatchSpec } from '../policy/types.js';
import { checkKeys, checkMatch, isObject, type Report } from '../policy/validate-match.js';
import { checkTarget, type TargetSpec } from './target.js';

/** One side of a weighted split. */
export interface WeightedTarget {
  to: TargetSpec;
  weight: number;
}

/**
 * A router rule. The first rule whose `match` holds decides, in file order; a request no rule
 * matches keeps its route (any agent, or the Slime-Scope it asked for).
 */
export interface RouterRule {
  name?: string;
  match?: MatchSpec;
  /** One target, or a weighted split. */
  to: TargetSpec | WeightedTarget[];
  /** What keeps a user on one side of a split: `ip`, `header:NAME` or `param:NAME`. */
  sticky?: string;
}

const STICKY = /^(ip|header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|param:.+)$/;

/** Every problem with a `router` section, each prefixed by its path. */
export function validateRouter(raw: unknown, path: string): string[] {
  const errors: string[] = [];
  const report: Report = (p, m) => errors.push(`${p} ${m}`);
  if (!Array.isArray(raw)) return [`${path} must be a list of rules`];
  const names = new Set<string>();
  for (const [i, r] of raw.entries()) {
    const p = `${path}[${i}]`;
    if (!isObject(r)) {
      report(p, 'must be an object like { match, to }');
      continue;
    }
    checkKeys(r, ['name', 'match', 'to', 'sticky'], p, report);
    if (r.name !== undefined) {
      if (typeof r.name !== 'string' || r.name === '') report(`${p}.name`, 'must be a non-empty string');
      else if (names.has(r.name)) report(`${p}.name`, `duplicates another rule's name "${r.name}"`);
      else names.add(r.name);
    }
    if (r.match !== undefined) checkMatch(r.match, `${p}.match`, report);
    if (r.to === undefined) report(`${p}.to`, 'is required');
    else if (Array.isArray(r.to)) checkSplit(r.to, `${p}.to`, report);
    else checkTarget(r.to, `${p}.to`, report);
    if (r.sticky !== undefined) {
      if (typeof r.sticky !== 'string' || !STICKY.test(r.sticky))
        report(`${p}.sticky`, 'must be ip, header:NAME or param:NAME');
      else if (!Array.isArray(r.to)) report(`${p}.sticky`, 'only applies to a weighted split');
    }
  }
  return errors;
}

function checkSplit(list: unknown[], path: string, report: Report): void {
  if (list.length < 2) report(path, 'a split needs at least two targets');
  let total = 0;
  for (const [i, t] of list.entries()) {
    const p = `${path}[${i}]`;
    if (!isObject(t)) {
      report(p, 'must be an object like { to, weight }');
      continue;
    }
    checkKeys(t, ['to', 'weight'], p, report);
    checkTarget(t.to, `${p}.to`, report);
    if (typeof t.weight !== 'number' || !Number.isFinite(t.weight) || t.weight < 0)
      report(`${p}.weight`, 'must be a number >= 0');
    else total += t.weight;
  }
  if (list.length >= 2 && total <= 0) report(path, 'weights must add up to more than 0');
}
