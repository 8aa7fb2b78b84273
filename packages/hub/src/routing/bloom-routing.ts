import { apiMatch, stableName, type Translation, translateRules } from '../policy/bloom.js';
import { checkMatch, isObject } from '../policy/validate-match.js';
import type { FallbackEndpoint, FallbackRule } from './fallback-config.js';
import type { RouterRule } from './router-config.js';

export type BloomTranslation<T> = Translation<T>;

/**
 * A BloomGateway endpoint: `host:port` (plain HTTP, as BloomGateway proxies), a full http(s) URL,
 * or, with no colon at all, one of our agent groups.
 */
function endpointOf(v: unknown, path: string, errors: string[]): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    errors.push(`${path} must be host:port, an http(s) URL or an agent group`);
    return undefined;
  }
  const s = v.trim();
  if (/^https?:\/\//i.test(s)) return s;
  if (!s.includes(':')) return s;
  try {
    const url = new URL(`http://${s}`);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new Error('extra parts');
    return url.origin;
  } catch {
    errors.push(`${path} must be host:port, an http(s) URL or an agent group`);
    return undefined;
  }
}

/**
 * BloomGateway router rules (`type: header|param`, `key`, `value` or `value_matches`, `endpoint`)
 * as router rules. `value_matches` becomes an anchored regex: `1[0-9]{4}` matches `12345`, not
 * `x123456`.
 */
export function translateBloomRouter(body: unknown): BloomTranslation<RouterRule> {
  return translateRules<RouterRule>(body, (r, path, errors) => {
    if (r.type !== 'header' && r.type !== 'param') {
      errors.push(`${path}.type must be header or param`);
      return undefined;
    }
    const match = apiMatch(r, path, errors);
    if (typeof r.key !== 'string' || r.key === '') errors.push(`${path}.key must be a non-empty string`);
    const hasValue = typeof r.value === 'string' && r.value !== '';
    const hasRegex = typeof r.value_matches === 'string' && r.value_matches !== '';
    if (hasValue === hasRegex) errors.push(`${path} needs exactly one of value and value_matches`);
    const to = endpointOf(r.endpoint, `${path}.endpoint`, errors);
    if (typeof r.key !== 'string' || !to || hasValue === hasRegex) return undefined;
    const cond = hasValue
      ? { name: r.key, value: r.value as string }
      : { name: r.key, regex: r.value_matches as string };
    if (r.type === 'header') match.header = cond;
    else match.param = cond;
    const before = errors.length;
    checkMatch(match, `${path}`, (p, m) =>
      errors.push(
        `${p.replace('.header.regex', '.value_matches').replace('.param.regex', '.value_matches')} ${m}`,
      ),
    );
    if (errors.length > before) return undefined;
    return { name: stableName('router', r), match, to };
  });
}

function bloomEndpoints(v: unknown, path: string, errors: string[]): FallbackEndpoint[] {
  if (!Array.isArray(v) || v.length === 0) {
    errors.push(`${path} must be a non-empty list`);
    return [];
  }
  // Each item is { "<order>": { name, headers, params } } (BloomGateway) or the endpoint itself.
  const items: Array<{ order: number; index: number; e: unknown; p: string }> = [];
  for (const [i, item] of v.entries()) {
    const keys = isObject(item) ? Object.keys(item) : [];
    if (keys.length === 1 && /^\d+$/.test(keys[0]!) && isObject(item))
      items.push({ order: Number(keys[0]), index: i, e: item[keys[0]!], p: `${path}[${i}].${keys[0]}` });
    else items.push({ order: i, index: i, e: item, p: `${path}[${i}]` });
  }
  items.sort((a, b) => a.order - b.order || a.index - b.index);
  const out: FallbackEndpoint[] = [];
  for (const { e, p } of items) {
    if (!isObject(e)) {
      errors.push(`${p} must be an object like { name, headers, params }`);
      continue;
    }
    const to = endpointOf(e.name, `${p}.name`, errors);
    if (!to) continue;
    const ep: FallbackEndpoint = { to };
    for (const field of ['headers', 'params'] as const) {
      const d = e[field];
      if (d === undefined) continue;
      if (!isObject(d) || Object.values(d).some((x) => typeof x !== 'string' && typeof x !== 'number'))
        errors.push(`${p}.${field} must be an object of name: value`);
      else if (Object.keys(d).length > 0)
        ep[field] = Object.fromEntries(Object.entries(d).map(([k, x]) => [k, String(x)]));
    }
    out.push(ep);
  }
  return out;
}

/**
 * BloomGateway fallback rules (`api`, `errors`, `key`, `endpoints`) as fallback rules. BloomGateway
 * retries on those statuses, so agent-side failures count too: the statuses are the ones our
 * errors map to (no agent = 503, upstream timeout = 504).
 */
export function translateBloomFallback(body: unknown): BloomTranslation<FallbackRule> {
  return translateRules<FallbackRule>(body, (r, path, errors) => {
    const match = apiMatch(r, path, errors);
    const list = r.errors ?? r.error;
    const on: number[] = [];
    if (!Array.isArray(list) || list.length === 0)
      errors.push(`${path}.errors must be a non-empty list of statuses`);
    else
      for (const [i, s] of list.entries()) {
        const n = typeof s === 'string' && /^\d{3}$/.test(s.trim()) ? Number(s) : s;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 400 || n > 599)
          errors.push(`${path}.errors[${i}] must be a status 400-599`);
        else if (!on.includes(n)) on.push(n);
      }
    const endpoints = bloomEndpoints(r.endpoints, `${path}.endpoints`, errors);
    if (r.key !== undefined && (typeof r.key !== 'string' || r.key === ''))
      errors.push(`${path}.key must be a non-empty string`);
    const name = typeof r.key === 'string' && r.key !== '' ? r.key : stableName('fallback', r);
    const rule: FallbackRule = { name, on, endpoints };
    if (Object.keys(match).length > 0) rule.match = match;
    return rule;
  });
}
