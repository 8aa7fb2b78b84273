import { createIpSet } from './ip.js';
import type { RequestView } from './request-view.js';
import type { MatchSpec, OneOrMany, ValueCondition } from './types.js';

export type Matcher = (view: RequestView) => boolean;

export function toList<T>(v: OneOrMany<T> | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** User regexes are anchored so `admin` never matches `not-admin-at-all`. */
export function anchoredRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

type ValueTest = (values: readonly string[]) => boolean;

function compileCondition(c: ValueCondition): ValueTest {
  if (c.regex !== undefined) {
    const re = anchoredRegex(c.regex);
    return (values) => values.some((v) => re.test(v));
  }
  if (c.value !== undefined) {
    const want = c.value;
    return (values) => values.some((v) => v === want);
  }
  return (values) => values.length > 0;
}

/**
 * Compiles a match once (regexes, CIDRs, sets) into a predicate. Throws on bad regexes or
 * addresses; `validatePolicy` reports those first, with paths.
 */
export function compileMatch(spec: MatchSpec | undefined): Matcher {
  if (!spec) return () => true;
  const tests: Matcher[] = [];
  const paths = new Set(toList(spec.path));
  if (paths.size > 0) tests.push((v) => paths.has(v.path));
  const prefixes = toList(spec.pathPrefix);
  if (prefixes.length > 0) tests.push((v) => prefixes.some((p) => v.path.startsWith(p)));
  const methods = new Set(toList(spec.method).map((m) => m.toUpperCase()));
  if (methods.size > 0) tests.push((v) => methods.has(v.method));
  for (const h of toList(spec.header)) {
    const name = h.name.toLowerCase();
    const test = compileCondition(h);
    tests.push((v) => test(v.header(name)));
  }
  for (const p of toList(spec.param)) {
    const test = compileCondition(p);
    tests.push((v) => test(v.param(p.name)));
  }
  const ips = toList(spec.ip);
  if (ips.length > 0) {
    const set = createIpSet(ips);
    tests.push((v) => v.ip !== undefined && set.has(v.ip));
  }
  const apps = new Set(toList(spec.app));
  if (apps.size > 0) tests.push((v) => v.app !== undefined && apps.has(v.app));
  const scopes = new Set(toList(spec.scope));
  if (scopes.size > 0) tests.push((v) => v.scope !== undefined && scopes.has(v.scope));
  const invert = spec.invert === true;
  return (v) => {
    for (const t of tests) if (!t(v)) return invert;
    return !invert;
  };
}
