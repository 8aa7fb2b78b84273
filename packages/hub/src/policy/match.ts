import { createIpSet } from './ip.js';
import { withoutTrailingSlash } from './path-rules.js';
import type { RequestView } from './request-view.js';
import type { MatchSpec, OneOrMany, PathOptions, ValueCondition } from './types.js';

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

/** The same view read with another path (the lenient reading of an ambiguous target). */
export function withPath(view: RequestView, path: string): RequestView {
  return { ...view, path };
}

/**
 * Compiles a match once (regexes, CIDRs, sets) into a predicate. Throws on bad regexes or
 * addresses; `validatePolicy` reports those first, with paths.
 *
 * Exact `path`s ignore one trailing slash on either side (`/secret` matches `/secret/`). Paths
 * compare case-insensitively when the spec's `caseInsensitive` says so, or, when it is absent,
 * when `defaults.caseInsensitive` (the policy's `paths.caseInsensitive`) does. `rejectAmbiguous`
 * is not a condition: access rules act on it (`compileAccess`).
 */
export function compileMatch(spec: MatchSpec | undefined, defaults: PathOptions = {}): Matcher {
  if (!spec) return () => true;
  const tests: Matcher[] = [];
  const fold = spec.caseInsensitive ?? defaults.caseInsensitive ?? false;
  const form = fold ? (p: string) => p.toLowerCase() : (p: string) => p;
  const paths = new Set(toList(spec.path).map((p) => form(withoutTrailingSlash(p))));
  if (paths.size > 0) tests.push((v) => paths.has(form(withoutTrailingSlash(v.path))));
  const prefixes = toList(spec.pathPrefix).map(form);
  if (prefixes.length > 0)
    tests.push((v) => {
      const path = form(v.path);
      return prefixes.some((p) => path.startsWith(p));
    });
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
