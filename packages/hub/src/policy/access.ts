import { HubError } from '../errors.js';
import { compileMatch, type Matcher } from './match.js';
import type { RequestView } from './request-view.js';
import type { AccessAction, AccessRule } from './types.js';

export interface AccessDecision {
  action: AccessAction;
  /** The rule that decided (name or index), for logs only: never sent to the client. */
  rule: string;
}

export type AccessRules = (view: RequestView) => AccessDecision;

/**
 * First matching rule wins, as in a firewall. With no match, a request is allowed unless the list
 * has an `allow` rule: then the list is an allow-list and everything else is denied.
 */
export function compileAccess(rules: readonly AccessRule[]): AccessRules {
  const compiled: { action: AccessAction; match: Matcher; label: string }[] = rules.map((r, i) => ({
    action: r.action,
    match: compileMatch(r.match),
    label: r.name ?? `access[${i}]`,
  }));
  const fallback: AccessDecision = {
    action: compiled.some((r) => r.action === 'allow') ? 'deny' : 'allow',
    rule: 'default',
  };
  return (view) => {
    for (const r of compiled) if (r.match(view)) return { action: r.action, rule: r.label };
    return fallback;
  };
}

/** The client learns only that it was refused; which rule refused it stays in the hub's logs. */
export function forbidden(): HubError {
  return new HubError('ERR_HUB_FORBIDDEN', 'access denied by policy');
}
