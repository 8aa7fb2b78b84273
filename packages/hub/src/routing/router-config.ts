import { parseWindow } from '../policy/duration.js';
import type { MatchSpec } from '../policy/types.js';
import { checkKeys, isObject, type Report } from '../policy/validate-match.js';
import { validateRuleList } from './rule-list.js';
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
  /**
   * Time to the response head for requests this rule routes ("90s", "5m", seconds, or 0 for none),
   * instead of the hub's --request-timeout.
   */
  requestTimeout?: number | string;
}

/** A rule's requestTimeout in ms (0 = none); undefined when invalid. */
export function requestTimeoutMs(v: unknown): number | undefined {
  if (v === 0 || v === '0') return 0;
  return parseWindow(v);
}

const STICKY = /^(ip|header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|param:.+)$/;

/** Every problem with a `router` section, each prefixed by its path. */
export function validateRouter(raw: unknown, path: string): string[] {
  const rule = { keys: ['name', 'match', 'to', 'sticky', 'requestTimeout'], shape: '{ match, to }' };
  return validateRuleList(raw, path, rule, (r, p, report) => {
    if (r.to === undefined) report(`${p}.to`, 'is required');
    else if (Array.isArray(r.to)) checkSplit(r.to, `${p}.to`, report);
    else checkTarget(r.to, `${p}.to`, report);
    if (r.sticky !== undefined) {
      if (typeof r.sticky !== 'string' || !STICKY.test(r.sticky))
        report(`${p}.sticky`, 'must be ip, header:NAME or param:NAME');
      else if (!Array.isArray(r.to)) report(`${p}.sticky`, 'only applies to a weighted split');
    }
    if (r.requestTimeout !== undefined && requestTimeoutMs(r.requestTimeout) === undefined)
      report(
        `${p}.requestTimeout`,
        'must be a duration like "90s" or "5m", a number of seconds, or 0 for none',
      );
  });
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
