import type { Logger } from 'pino';
import type { Policy, RequestContext, RouteTarget } from '../pipeline/context.js';
import { compileMatch, type Matcher } from '../policy/match.js';
import { type RequestView, viewOf } from '../policy/request-view.js';
import type { PolicySection } from '../policy/section.js';
import { type RouterRule, requestTimeoutMs, validateRouter } from './router-config.js';
import { ruleListSection } from './rule-list.js';
import { pickWeighted, stickyPoint } from './sticky.js';
import { compileTarget, describeTarget } from './target.js';

export interface RouterSectionDeps {
  /** Picks a side of a split when the request has no sticky key. Default Math.random. */
  random?: () => number;
  logger?: Logger;
}

interface CompiledRule {
  readonly name: string;
  readonly match: Matcher;
  readonly pick: (ctx: RequestContext, view: RequestView) => RouteTarget;
  readonly requestTimeoutMs: number | undefined;
}

function stickyKey(sticky: string | undefined, ctx: RequestContext, view: RequestView): string | undefined {
  if (sticky === undefined) return undefined;
  if (sticky === 'ip') return ctx.clientIp || undefined;
  const colon = sticky.indexOf(':');
  const name = sticky.slice(colon + 1);
  const values = sticky.startsWith('header:') ? view.header(name.toLowerCase()) : view.param(name);
  return values[0] === undefined || values[0] === '' ? undefined : values[0];
}

function compileRule(rule: RouterRule, index: number, random: () => number): CompiledRule {
  const name = rule.name ?? `router[${index}]`;
  const match = compileMatch(rule.match);
  const requestTimeout =
    rule.requestTimeout === undefined ? undefined : requestTimeoutMs(rule.requestTimeout);
  if (!Array.isArray(rule.to)) {
    const target = compileTarget(rule.to);
    return { name, match, pick: () => target, requestTimeoutMs: requestTimeout };
  }
  const targets = rule.to.map((t) => compileTarget(t.to));
  const weights = rule.to.map((t) => t.weight);
  // The rule's own name salts the hash, so two named splits do not put the same users together.
  const salt = rule.name === undefined ? '' : `${rule.name}\n`;
  return {
    name,
    match,
    requestTimeoutMs: requestTimeout,
    pick(ctx, view) {
      const key = stickyKey(rule.sticky, ctx, view);
      const point = key === undefined ? random() : stickyPoint(salt + key);
      return targets[pickWeighted(weights, point)]!;
    },
  };
}

/** Compiles validated router rules into the router policy (exported for tests). */
export function compileRouter(rules: readonly RouterRule[], random: () => number = Math.random): Policy {
  const compiled = rules.map((r, i) => compileRule(r, i, random));
  return async function router(ctx, next) {
    const view = viewOf(ctx);
    for (const rule of compiled) {
      if (!rule.match(view)) continue;
      const target = rule.pick(ctx, view);
      ctx.route = target;
      // The operator's choice beats Slime-Scope: "*" means any agent, whatever the client asked.
      if (target.kind === 'agents') {
        if (target.scope !== undefined) ctx.scope = target.scope;
        else delete ctx.scope;
      }
      if (rule.requestTimeoutMs !== undefined) ctx.requestTimeoutMs = rule.requestTimeoutMs;
      ctx.notes.route = rule.name;
      ctx.notes.routeTo = describeTarget(target);
      break;
    }
    await next();
  };
}

/**
 * The policy file's `router` section: rules `{ match, to }` (first match wins, in file order)
 * sending a request to an agent group or an external URL, or splitting it by weight, sticky by a
 * key. Stateless, so an update simply swaps the rules.
 *
 * @example
 * ```ts
 * createPolicyEngine({ sections: { router: createRouterSection({ random: Math.random }) } });
 * ```
 */
export function createRouterSection(deps: RouterSectionDeps = {}): PolicySection {
  if (typeof deps !== 'object' || deps === null) throw new TypeError('deps must be an object');
  const random = deps.random ?? Math.random;
  if (typeof random !== 'function') throw new TypeError('random must be a function');
  return ruleListSection<RouterRule>('router', deps.logger, validateRouter, (rules) =>
    compileRouter(rules, random),
  );
}
