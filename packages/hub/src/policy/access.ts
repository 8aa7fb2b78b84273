import { HubError } from '../errors.js';
import { compileMatch, type Matcher, withPath } from './match.js';
import type { RequestView } from './request-view.js';
import type { AccessAction, AccessRule, PathOptions } from './types.js';

export interface AccessDecision {
  /** `reject`: the target is ambiguous and a path option refuses it (400, not 403). */
  action: AccessAction | 'reject';
  /** The rule that decided (name or index), for logs only: never sent to the client. */
  rule: string;
  /** With `reject`: why the target is ambiguous (`ambiguityOf`). */
  reason?: string;
}

export type AccessRules = (view: RequestView) => AccessDecision;

/**
 * First matching rule wins, as in a firewall. With no match, a request is allowed unless the list
 * has an `allow` rule: then the list is an allow-list and everything else is denied.
 *
 * Ambiguous targets are decided first. With `paths.rejectAmbiguous` every one is rejected. Else each
 * rule with `match.rejectAmbiguous` rejects one it matches under the hub's reading or the widest
 * reading (`lenientPath`), whatever its action and place: an ambiguous target cannot slip past it
 * by being read differently upstream, nor by an earlier rule that matched only the hub's reading.
 */
export function compileAccess(rules: readonly AccessRule[], paths: PathOptions = {}): AccessRules {
  const compiled: { action: AccessAction; match: Matcher; label: string; guard: boolean }[] = rules.map(
    (r, i) => ({
      action: r.action,
      match: compileMatch(r.match, paths),
      label: r.name ?? `access[${i}]`,
      guard: r.match?.rejectAmbiguous === true,
    }),
  );
  const guards = compiled.filter((r) => r.guard);
  const rejectAll = paths.rejectAmbiguous === true;
  const fallback: AccessDecision = {
    action: compiled.some((r) => r.action === 'allow') ? 'deny' : 'allow',
    rule: 'default',
  };
  const ambiguous = (view: RequestView, reason: string): AccessDecision | undefined => {
    if (rejectAll) return { action: 'reject', rule: 'paths.rejectAmbiguous', reason };
    if (guards.length === 0) return undefined;
    const wide = view.lenientPath ?? view.path;
    const lenient = wide === view.path ? undefined : withPath(view, wide);
    for (const g of guards) {
      if (g.match(view) || (lenient !== undefined && g.match(lenient)))
        return { action: 'reject', rule: g.label, reason };
    }
    return undefined;
  };
  return (view) => {
    if (view.ambiguity !== undefined) {
      const d = ambiguous(view, view.ambiguity);
      if (d) return d;
    }
    for (const r of compiled) if (r.match(view)) return { action: r.action, rule: r.label };
    return fallback;
  };
}

/** The client learns only that it was refused; which rule refused it stays in the hub's logs. */
export function forbidden(): HubError {
  return new HubError('ERR_HUB_FORBIDDEN', 'access denied by policy');
}

/**
 * 400 for a target servers may read differently; names the kind of ambiguity, never the rule. The
 * connection is closed afterwards, as for every other malformed request.
 */
export function ambiguousTarget(reason: string): HubError {
  return new HubError('ERR_HUB_MALFORMED_REQUEST', `ambiguous request target: ${reason}`, {
    headers: { connection: 'close' },
  });
}
