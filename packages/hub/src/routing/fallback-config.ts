import { isToken } from '@slime/protocol';
import { parseWindow } from '../policy/duration.js';
import type { MatchSpec } from '../policy/types.js';
import { checkKeys, isObject, type Report } from '../policy/validate-match.js';
import { validateRuleList } from './rule-list.js';
import { checkTarget, type TargetSpec } from './target.js';

/** Outcomes a fallback rule can name besides statuses. */
export const NAMED_OUTCOMES = ['no-agent', 'timeout'] as const;
export type NamedOutcome = (typeof NAMED_OUTCOMES)[number];

export interface FallbackEndpoint {
  /** An agent group, `*` (any agent) or an http(s) URL. */
  to: TargetSpec;
  /** Set on the request for this endpoint (replacing the client's field of the same name). */
  headers?: Record<string, string>;
  /** Appended to the query string; also what loop prevention looks for. */
  params?: Record<string, string>;
  /** Longest wait for this endpoint's response head; default the rule's `timeout`. */
  timeout?: string | number;
}

export interface FallbackRule {
  name?: string;
  match?: MatchSpec;
  /** Statuses (400-599) and named outcomes that send the request to the endpoints. */
  on: Array<number | NamedOutcome>;
  /** Tried in order; the first answer whose outcome is not in `on` is returned. */
  endpoints: FallbackEndpoint[];
  /** Per-try timeout for endpoints without their own. Default 10s. */
  timeout?: string | number;
  /**
   * Longest wait for the first (primary) try's response head; past it the try is cancelled and
   * counts as the outcome `timeout`. Default: none (the primary's own timeouts apply).
   */
  primaryTimeout?: string | number;
  /** POST, PATCH and other non-idempotent methods fall back too. Default false. */
  nonIdempotent?: boolean;
  /** Largest request body kept for replay; bigger bodies are not retried. Default 1 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_TRY_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

// Fields an endpoint must not set: they belong to the connection or to the hub.
const RESERVED_HEADER =
  /^(host|content-length|transfer-encoding|connection|upgrade|te|trailer|keep-alive|expect|slime-.*)$/i;

/** What a name: value field of an endpoint allows; each check says what is wrong, if anything. */
interface DictRules {
  name(k: string): string | undefined;
  value?(s: string): string | undefined;
}

const DICTS: Record<'headers' | 'params', DictRules> = {
  headers: {
    name(k) {
      if (!isToken(k)) return 'is not a valid header name';
      if (RESERVED_HEADER.test(k)) return 'is reserved (connection, framing, Host or Slime-*)';
      return undefined;
    },
    value: (s) => (/[\0\r\n]/.test(s) ? 'must not contain NUL, CR or LF' : undefined),
  },
  params: { name: (k) => (k === '' ? 'must be a non-empty name' : undefined) },
};

function checkDict(v: unknown, path: string, report: Report, rules: DictRules): void {
  if (!isObject(v)) {
    report(path, 'must be an object of name: value');
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    const p = `${path}.${k}`;
    const badName = rules.name(k);
    if (badName) report(p, badName);
    const badValue = typeof val !== 'string' ? 'must be a string' : rules.value?.(val);
    if (badValue) report(p, badValue);
  }
}

function checkEndpoint(e: unknown, path: string, report: Report): void {
  if (!isObject(e)) {
    report(path, 'must be an object like { to, headers, params, timeout }');
    return;
  }
  checkKeys(e, ['to', 'headers', 'params', 'timeout'], path, report);
  checkTarget(e.to, `${path}.to`, report);
  for (const field of ['headers', 'params'] as const)
    if (e[field] !== undefined) checkDict(e[field], `${path}.${field}`, report, DICTS[field]);
  if (e.timeout !== undefined && parseWindow(e.timeout) === undefined)
    report(`${path}.timeout`, 'must be a duration like "2s" or "500ms", or seconds as a number');
}

/** Every problem with a `fallback` section, each prefixed by its path. */
export function validateFallback(raw: unknown, path: string): string[] {
  const keys = [
    'name',
    'match',
    'on',
    'endpoints',
    'timeout',
    'primaryTimeout',
    'nonIdempotent',
    'maxBodyBytes',
  ];
  return validateRuleList(raw, path, { keys, shape: '{ match, on, endpoints }' }, (r, p, report) => {
    if (!Array.isArray(r.on) || r.on.length === 0)
      report(`${p}.on`, 'must be a non-empty list of statuses (400-599), "no-agent" or "timeout"');
    else
      for (const [j, o] of r.on.entries()) {
        const ok =
          (typeof o === 'number' && Number.isInteger(o) && o >= 400 && o <= 599) ||
          NAMED_OUTCOMES.includes(o as NamedOutcome);
        if (!ok) report(`${p}.on[${j}]`, 'must be a status 400-599, "no-agent" or "timeout"');
      }
    if (!Array.isArray(r.endpoints) || r.endpoints.length === 0)
      report(`${p}.endpoints`, 'must be a non-empty list');
    else for (const [j, e] of r.endpoints.entries()) checkEndpoint(e, `${p}.endpoints[${j}]`, report);
    for (const field of ['timeout', 'primaryTimeout'] as const) {
      if (r[field] !== undefined && parseWindow(r[field]) === undefined)
        report(`${p}.${field}`, 'must be a duration like "2s" or "500ms", or seconds as a number');
    }
    if (r.nonIdempotent !== undefined && typeof r.nonIdempotent !== 'boolean')
      report(`${p}.nonIdempotent`, 'must be a boolean');
    if (
      r.maxBodyBytes !== undefined &&
      (typeof r.maxBodyBytes !== 'number' || !Number.isSafeInteger(r.maxBodyBytes) || r.maxBodyBytes < 0)
    )
      report(`${p}.maxBodyBytes`, 'must be an integer >= 0');
  });
}
