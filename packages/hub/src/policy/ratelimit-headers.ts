import type { LimitState } from './store.js';

export interface HeaderRule {
  readonly name: string;
  readonly quota: number;
  readonly windowSec: number;
  readonly bytes: boolean;
}

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers): one item per rule.
 * When a rule counted several key values (a repeated parameter), the tightest one is reported.
 */
export function rateLimitHeaders(
  entries: readonly { rule: HeaderRule; state: LimitState }[],
): { 'ratelimit-policy': string; ratelimit: string } | undefined {
  const byRule = new Map<HeaderRule, LimitState>();
  for (const { rule, state } of entries) {
    const prev = byRule.get(rule);
    if (!prev || state.remaining < prev.remaining) byRule.set(rule, state);
  }
  if (byRule.size === 0) return undefined;
  const policies: string[] = [];
  const limits: string[] = [];
  for (const [rule, state] of byRule) {
    const qu = rule.bytes ? ';qu="content-bytes"' : '';
    policies.push(`"${rule.name}";q=${rule.quota};w=${rule.windowSec}${qu}`);
    const t = Number.isFinite(state.resetMs) ? Math.max(0, Math.ceil(state.resetMs / 1000)) : rule.windowSec;
    limits.push(`"${rule.name}";r=${state.remaining};t=${t}`);
  }
  return { 'ratelimit-policy': policies.join(', '), ratelimit: limits.join(', ') };
}
