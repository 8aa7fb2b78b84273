import type { RequestContext } from '../pipeline/context.js';
import { canonicalJson, definitionHash } from './canonical.js';
import { parseWindow } from './duration.js';
import { keyValues, parseKey, shortenValue } from './keys.js';
import { compileMatch, type Matcher } from './match.js';
import type { HeaderRule } from './ratelimit-headers.js';
import type { RequestView } from './request-view.js';
import { ID_SEPARATOR, type LimitSpec } from './store.js';
import type { Algorithm, KeySpec, PathOptions, RateLimitRule } from './types.js';

const DEFAULT_WINDOW_MS = 60_000;

export interface CompiledRateRule extends HeaderRule {
  /** Hash of the whole definition: an unchanged rule keeps its counters across updates. */
  readonly hash: string;
  readonly match: Matcher;
  readonly key: KeySpec | undefined;
  /** `key: path` counts `/A` and `/a` as one value (the policy's `paths.caseInsensitive`). */
  readonly foldPath: boolean;
  /** Only this key value (already shortened); undefined for `*` or no key. */
  readonly value: string | undefined;
  /** Values that a specific rule with the same key and match counts instead of this `*` rule. */
  readonly overridden: ReadonlySet<string>;
  readonly algorithm: Algorithm;
  readonly limit: number | undefined;
  readonly windowMs: number;
  readonly burst: number;
  readonly concurrency: number | undefined;
}

/** One counter a request touches: a rule and, for keyed rules, one of its key values. */
export interface Applied {
  readonly rule: CompiledRateRule;
  /** `hash NUL value`: identifies both the store counter and the in-flight counter. */
  readonly id: string;
}

export function compileRateLimits(
  rules: readonly RateLimitRule[],
  paths: PathOptions = {},
): CompiledRateRule[] {
  const foldPath = paths.caseInsensitive === true;
  const groupOf = (r: RateLimitRule) => canonicalJson({ key: r.key, match: r.match ?? null });
  const specific = new Map<string, Set<string>>();
  for (const r of rules) {
    if (r.key !== undefined && r.value !== undefined && r.value !== '*') {
      const g = groupOf(r);
      if (!specific.has(g)) specific.set(g, new Set());
      specific.get(g)!.add(shortenValue(r.value));
    }
  }
  const none = new Set<string>();
  return rules.map((r) => {
    const windowMs = r.window === undefined ? DEFAULT_WINDOW_MS : parseWindow(r.window)!;
    const isStar = r.key !== undefined && (r.value === undefined || r.value === '*');
    const limit = r.limit;
    return {
      name: r.name,
      // The policy-wide case setting changes what the rule matches and counts: fresh counters then.
      hash: definitionHash(foldPath ? { rule: r, caseInsensitive: true } : r),
      match: compileMatch(r.match, paths),
      key: r.key === undefined ? undefined : parseKey(r.key),
      foldPath,
      value: isStar || r.value === undefined ? undefined : shortenValue(r.value),
      overridden: isStar ? (specific.get(groupOf(r)) ?? none) : none,
      algorithm: r.algorithm ?? 'sliding-window',
      limit,
      windowMs,
      burst: r.burst ?? limit ?? 0,
      concurrency: r.concurrency,
      quota: limit ?? 0,
      windowSec: Math.max(1, Math.ceil(windowMs / 1000)),
      bytes: r.unit === 'bytes',
    };
  });
}

/** Every (rule, key value) this request counts against, in rule order. */
export function applicable(rules: readonly CompiledRateRule[], view: RequestView): Applied[] {
  const out: Applied[] = [];
  for (const rule of rules) {
    if (!rule.match(view)) continue;
    if (!rule.key) {
      out.push({ rule, id: `${rule.hash}${ID_SEPARATOR}` });
      continue;
    }
    for (const v of keyValues(rule.key, view, rule.foldPath)) {
      if (rule.value !== undefined ? v !== rule.value : rule.overridden.has(v)) continue;
      out.push({ rule, id: `${rule.hash}${ID_SEPARATOR}${v}` });
    }
  }
  return out;
}

/** The store's view of one applied limit; `requestBytes` is the known request body size. */
export function limitSpec(a: Applied, requestBytes: number): LimitSpec {
  const r = a.rule;
  return {
    id: a.id,
    algorithm: r.algorithm,
    limit: r.limit!,
    windowMs: r.windowMs,
    burst: r.burst,
    cost: r.bytes ? requestBytes : 1,
  };
}

/** A request's Content-Length when it is a plain decimal; rate limits charge it up front. */
export function contentLength(ctx: RequestContext): number | undefined {
  const v = ctx.req.headers['content-length'];
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

/** How long until every refusing limit would admit again, ms. */
export function retryAfterMs(
  applied: readonly Applied[],
  states: readonly { allowed: boolean; retryAfterMs: number }[],
) {
  let ms = 0;
  for (const [i, s] of states.entries()) {
    if (s.allowed) continue;
    // A request bigger than the whole quota never passes; a window is the honest "not soon".
    ms = Math.max(ms, Number.isFinite(s.retryAfterMs) ? s.retryAfterMs : applied[i]!.rule.windowMs);
  }
  return ms;
}
