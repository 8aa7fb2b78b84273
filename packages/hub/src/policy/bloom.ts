import { definitionHash } from './canonical.js';
import { normalizeIp, parseCidr } from './ip.js';
import type { AccessRule, MatchSpec, RateLimitRule } from './types.js';
import { isObject } from './validate-match.js';

/** The plugins `POST /update/config` accepts, and the policy section each one replaces. */
export const BLOOM_PLUGINS = {
  access: 'access',
  ratelimiter: 'ratelimits',
  router: 'router',
  fallback: 'fallback',
} as const;
export type BloomPlugin = keyof typeof BLOOM_PLUGINS;

/** The `phase` BloomGateway registers each plugin in (fallback runs in its error phase). */
export const BLOOM_PHASES: Record<BloomPlugin, 'access' | 'error'> = {
  access: 'access',
  ratelimiter: 'access',
  router: 'access',
  fallback: 'error',
};

export type Translation<T> = { ok: true; rules: T[] } | { ok: false; errors: string[] };

const ACCESS_TYPES = ['header', 'param'] as const;
const RATE_TYPES = ['node', 'api', 'header', 'param'] as const;

/** BloomGateway's `api` is a URI that also covers what lies below it, so it becomes a prefix. */
export function apiMatch(r: Record<string, unknown>, path: string, errors: string[]): MatchSpec {
  if (r.api === undefined || r.api === '') return {};
  if (typeof r.api !== 'string' || !r.api.startsWith('/')) {
    errors.push(`${path}.api must be a path starting with /`);
    return {};
  }
  return { pathPrefix: r.api };
}

function keyAndValue(
  r: Record<string, unknown>,
  path: string,
  errors: string[],
): { key: string; value: string } | undefined {
  if (typeof r.key !== 'string' || r.key.length === 0) errors.push(`${path}.key must be a non-empty string`);
  if (typeof r.value !== 'string' || r.value.length === 0)
    errors.push(`${path}.value must be a non-empty string`);
  if (typeof r.key !== 'string' || typeof r.value !== 'string' || !r.key || !r.value) return undefined;
  return { key: r.key, value: r.value };
}

/** A rule's name from its content, so that posting the same rules again names them the same. */
export function stableName(prefix: string, r: unknown): string {
  return `bloom-${prefix}-${definitionHash(r).slice(0, 10)}`;
}

/**
 * A BloomGateway plugin body (a JSON array of rules) translated rule by rule; `each` reports its
 * problems into `errors` under the rule's path (`[i]`) and returns undefined for a rule it drops.
 */
export function translateRules<T>(
  body: unknown,
  each: (r: Record<string, unknown>, path: string, errors: string[]) => T | undefined,
): Translation<T> {
  if (!Array.isArray(body)) return { ok: false, errors: ['body must be a JSON array of rules'] };
  const errors: string[] = [];
  const rules: T[] = [];
  for (const [i, r] of body.entries()) {
    if (!isObject(r)) errors.push(`[${i}] must be an object`);
    else {
      const out = each(r, `[${i}]`, errors);
      if (out !== undefined) rules.push(out);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/** Identical rules would collide on their derived name and say the same thing twice: one is kept. */
function distinct<T>(t: Translation<T>): Translation<T> {
  if (!t.ok) return t;
  const seen = new Set<string>();
  const rules = t.rules.filter((r) => {
    const id = JSON.stringify(r);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return { ok: true, rules };
}

/** BloomGateway access rules (`type: header|param`, `key: remote_addr` for the client IP). */
export function translateBloomAccess(body: unknown): Translation<AccessRule> {
  const translated = translateRules<AccessRule>(body, (r, path, errors) => {
    if (r.access !== 'deny' && r.access !== 'allow') errors.push(`${path}.access must be deny or allow`);
    if (!ACCESS_TYPES.includes(r.type as never)) {
      errors.push(`${path}.type must be header or param`);
      return undefined;
    }
    const match = apiMatch(r, path, errors);
    const kv = keyAndValue(r, path, errors);
    if (!kv) return undefined;
    if (r.type === 'header' && kv.key === 'remote_addr') {
      if (!parseCidr(kv.value)) errors.push(`${path}.value must be an IP address or CIDR`);
      match.ip = kv.value;
    } else if (r.type === 'header') match.header = { name: kv.key, value: kv.value };
    else match.param = { name: kv.key, value: kv.value };
    const action = r.access === 'allow' ? 'allow' : 'deny';
    return { name: stableName('access', r), action, match };
  });
  return distinct(translated);
}

function threshold(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** BloomGateway rate-limiter rules: `threshold` requests per minute, by node, api, header or param. */
export function translateBloomRateLimits(body: unknown): Translation<RateLimitRule> {
  const translated = translateRules<RateLimitRule>(body, (r, path, errors) => {
    const limit = threshold(r.threshold);
    if (limit === undefined) errors.push(`${path}.threshold must be a positive integer`);
    if (!RATE_TYPES.includes(r.type as never)) {
      // Without a known type the other fields mean nothing; more errors would only be noise.
      errors.push(`${path}.type must be node, api, header or param`);
      return undefined;
    }
    const match = r.type === 'node' ? {} : apiMatch(r, path, errors);
    const rule: RateLimitRule = { name: stableName(String(r.type), r), limit: limit ?? 1, window: '1m' };
    if (Object.keys(match).length > 0) rule.match = match;
    if (r.type === 'node' || r.type === 'api') return rule;
    const kv = keyAndValue(r, path, errors);
    if (!kv) return undefined;
    if (r.type === 'header' && kv.key === 'remote_addr') {
      if (kv.value.includes('/')) {
        if (!parseCidr(kv.value)) errors.push(`${path}.value must be an IP address or CIDR`);
        // A range shares one counter: the operator limits the network, not each address in it.
        rule.match = { ...match, ip: kv.value };
        return rule;
      }
      const ip = kv.value === '*' ? '*' : normalizeIp(kv.value);
      if (ip === undefined) errors.push(`${path}.value must be an IP address, CIDR or *`);
      return { ...rule, key: 'ip', value: ip ?? kv.value };
    }
    return { ...rule, key: `${r.type}:${kv.key}`, value: kv.value };
  });
  return distinct(translated);
}
