import type { RouteTarget } from '../pipeline/context.js';
import type { Report } from '../policy/validate-match.js';

/** `*` (any agent, or the Slime-Scope asked for), an agent group name, or an http(s) URL. */
export type TargetSpec = string;

const GROUP = /^[\w.:@-]{1,128}$/;

export const isUrlTarget = (s: string): boolean => /^https?:\/\//i.test(s);

/** Reports why `v` is not a target. URLs carry no query or fragment: the request's own is appended. */
export function checkTarget(v: unknown, path: string, report: Report): void {
  if (typeof v !== 'string' || v === '') {
    report(path, 'must be an agent group name, "*" or an http(s) URL');
    return;
  }
  if (isUrlTarget(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      report(path, 'is not a valid URL');
      return;
    }
    if (url.search !== '' || url.hash !== '' || v.includes('?') || v.includes('#'))
      report(path, 'must not have a query or fragment (the request keeps its own)');
    if (url.username !== '' || url.password !== '') report(path, 'must not carry credentials');
    return;
  }
  if (v !== '*' && !GROUP.test(v))
    report(path, 'must be "*", an agent group (letters, digits, _ . : @ -) or an http(s) URL');
}

/** Turns a validated target into where dispatch sends the request. */
export function compileTarget(spec: TargetSpec): RouteTarget {
  if (isUrlTarget(spec)) return { kind: 'url', url: new URL(spec).href };
  return spec === '*' ? { kind: 'agents' } : { kind: 'agents', scope: spec };
}

/** Short description for logs and notes; never the URL's path (it may carry tokens). */
export function describeTarget(t: RouteTarget): string {
  if (t.kind === 'url') return new URL(t.url).origin;
  return t.scope === undefined ? '*' : `group:${t.scope}`;
}
