import { checkApps } from '../apps/validate-apps.js';
import { parseWindow } from './duration.js';
import { parseCidr } from './ip.js';
import { parseKey } from './keys.js';
import {
  ACCESS_ACTIONS,
  ALGORITHMS,
  type PolicyDoc,
  RESERVED_SECTIONS,
  UNITS,
  type ValidationResult,
} from './types.js';
import { checkKeys, checkMatch, isObject, objectsOf, type Report, uniqueNames } from './validate-match.js';

const TOP_LEVEL = ['trustedProxies', 'paths', 'access', 'ratelimits', 'apps', ...RESERVED_SECTIONS] as const;
const PATHS_FIELDS = ['rejectAmbiguous', 'caseInsensitive'] as const;
const ACCESS_FIELDS = ['name', 'action', 'match'] as const;
const RATE_FIELDS = [
  'name',
  'match',
  'key',
  'value',
  'limit',
  'window',
  'unit',
  'algorithm',
  'burst',
  'concurrency',
] as const;

const positiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

function checkAccess(list: unknown, report: Report): void {
  if (!Array.isArray(list)) {
    report('access', 'must be a list of rules');
    return;
  }
  for (const [r, path] of objectsOf(list, 'access', report)) {
    checkKeys(r, ACCESS_FIELDS, path, report);
    if (r.name !== undefined && (typeof r.name !== 'string' || r.name.length === 0))
      report(`${path}.name`, 'must be a non-empty string');
    if (!ACCESS_ACTIONS.includes(r.action as never))
      report(`${path}.action`, `must be one of ${ACCESS_ACTIONS.join(', ')}`);
    if (r.match !== undefined) checkMatch(r.match, `${path}.match`, report, { access: true });
  }
}

function checkPaths(p: unknown, report: Report): void {
  if (!isObject(p)) {
    report('paths', 'must be an object like { rejectAmbiguous: true, caseInsensitive: false }');
    return;
  }
  checkKeys(p, PATHS_FIELDS, 'paths', report);
  for (const k of PATHS_FIELDS) {
    if (p[k] !== undefined && typeof p[k] !== 'boolean') report(`paths.${k}`, 'must be a boolean');
  }
}

function checkRateLimit(r: Record<string, unknown>, path: string, report: Report): void {
  checkKeys(r, RATE_FIELDS, path, report);
  if (typeof r.name !== 'string' || !/^[A-Za-z0-9_.:/-]{1,64}$/.test(r.name))
    // The name goes into a structured-field string; keeping it plain keeps the header valid.
    report(`${path}.name`, 'must be 1-64 characters of letters, digits and _ . : / -');
  if (r.match !== undefined) checkMatch(r.match, `${path}.match`, report);
  if (r.key !== undefined && (typeof r.key !== 'string' || !parseKey(r.key)))
    report(`${path}.key`, 'must be header:NAME, param:NAME, ip, app, scope, path or method');
  if (r.value !== undefined) {
    if (typeof r.value !== 'string' || r.value.length === 0)
      report(`${path}.value`, 'must be a non-empty string');
    else if (r.key === undefined) report(`${path}.value`, 'needs a key');
  }
  if (r.limit === undefined && r.concurrency === undefined) report(path, 'needs a limit or a concurrency');
  if (r.limit !== undefined && !positiveInt(r.limit)) report(`${path}.limit`, 'must be a positive integer');
  if (r.concurrency !== undefined && !positiveInt(r.concurrency))
    report(`${path}.concurrency`, 'must be a positive integer');
  if (r.burst !== undefined) {
    if (!positiveInt(r.burst)) report(`${path}.burst`, 'must be a positive integer');
    else if (r.algorithm !== 'token-bucket')
      report(`${path}.burst`, 'only applies to algorithm token-bucket');
  }
  if (r.window !== undefined && parseWindow(r.window) === undefined)
    report(`${path}.window`, 'must be a duration like "30s", "1m", "1h" or a positive number of seconds');
  if (r.unit !== undefined && !UNITS.includes(r.unit as never))
    report(`${path}.unit`, `must be one of ${UNITS.join(', ')}`);
  if (r.algorithm !== undefined && !ALGORITHMS.includes(r.algorithm as never))
    report(`${path}.algorithm`, `must be one of ${ALGORITHMS.join(', ')}`);
}

function checkRateLimits(list: unknown, report: Report): void {
  if (!Array.isArray(list)) {
    report('ratelimits', 'must be a list of rules');
    return;
  }
  const checkName = uniqueNames('ratelimits', report);
  for (const [r, path, i] of objectsOf(list, 'ratelimits', report)) {
    checkRateLimit(r, path, report);
    checkName(r, path, i);
  }
}

/**
 * Checks an untrusted policy document and reports every problem at once, each with its path.
 *
 * @example
 * ```ts
 * const r = validatePolicy(JSON.parse(text));
 * if (!r.ok) throw new Error(r.errors.join('\n'));
 * ```
 */
export function validatePolicy(doc: unknown): ValidationResult {
  const errors: string[] = [];
  const report: Report = (path, message) => errors.push(`${path} ${message}`);
  if (!isObject(doc)) return { ok: false, errors: ['policy must be an object'] };
  for (const k of Object.keys(doc)) {
    if (!TOP_LEVEL.includes(k as never))
      report(k, `is not a known section (expected one of ${TOP_LEVEL.join(', ')})`);
  }
  if (doc.trustedProxies !== undefined) {
    if (!Array.isArray(doc.trustedProxies)) report('trustedProxies', 'must be a list of IPs or CIDRs');
    else
      for (const [i, p] of doc.trustedProxies.entries()) {
        if (typeof p !== 'string' || !parseCidr(p))
          report(`trustedProxies[${i}]`, 'must be an IP address or CIDR');
      }
  }
  if (doc.paths !== undefined) checkPaths(doc.paths, report);
  if (doc.access !== undefined) checkAccess(doc.access, report);
  if (doc.ratelimits !== undefined) checkRateLimits(doc.ratelimits, report);
  if (doc.apps !== undefined) checkApps(doc.apps, report);
  if (errors.length > 0) return { ok: false, errors };
  // A deep copy: later mutation of the caller's object must not change the policy in force.
  return { ok: true, policy: structuredClone(doc) as PolicyDoc };
}
