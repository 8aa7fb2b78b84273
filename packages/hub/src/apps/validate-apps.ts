import { checkKeys, isObject, objectsOf, type Report, uniqueNames } from '../policy/validate-match.js';
import { APP_NAME, KEY_HASH, MAX_APPS, MAX_KEYS_PER_APP, PRIORITIES, QUOTA_PERIODS } from './app-types.js';

const APP_FIELDS = ['name', 'keys', 'weight', 'maxPriority', 'maxQueue', 'quotas'] as const;
const KEY_FIELDS = ['hash', 'expires', 'created'] as const;
const QUOTA_UNITS = ['requests', 'bytes'] as const;

const positiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isTime = (v: unknown): boolean => typeof v === 'string' && Number.isFinite(Date.parse(v));

function checkKey(k: unknown, path: string, report: Report): void {
  if (!isObject(k)) {
    report(path, 'must be an object like { hash: "sha256:<64 hex digits>" }');
    return;
  }
  checkKeys(k, KEY_FIELDS, path, report);
  if (typeof k.hash !== 'string' || !KEY_HASH.test(k.hash))
    // A clear key here would be a leak waiting to happen: only the hash is ever stored.
    report(`${path}.hash`, 'must be "sha256:" and 64 lowercase hex digits (keys are never stored in clear)');
  for (const f of ['expires', 'created'] as const) {
    if (k[f] !== undefined && !isTime(k[f])) report(`${path}.${f}`, 'must be an ISO 8601 time');
  }
}

function checkQuotas(q: unknown, path: string, report: Report): void {
  if (!isObject(q)) {
    report(path, 'must be an object like { requests: { minute: 600 }, bytes: { day: 1e9 } }');
    return;
  }
  checkKeys(q, QUOTA_UNITS, path, report);
  for (const unit of QUOTA_UNITS) {
    const limits = q[unit];
    if (limits === undefined) continue;
    if (!isObject(limits)) {
      report(`${path}.${unit}`, 'must be an object of minute, hour and/or day limits');
      continue;
    }
    checkKeys(limits, QUOTA_PERIODS, `${path}.${unit}`, report);
    for (const p of QUOTA_PERIODS) {
      if (limits[p] !== undefined && !positiveInt(limits[p]))
        report(`${path}.${unit}.${p}`, 'must be a positive integer');
    }
  }
}

function checkApp(a: Record<string, unknown>, path: string, report: Report): void {
  checkKeys(a, APP_FIELDS, path, report);
  if (typeof a.name !== 'string' || !APP_NAME.test(a.name))
    report(`${path}.name`, 'must be 1-32 letters, digits, _ . or -, starting with a letter or digit');
  if (a.keys !== undefined) {
    if (!Array.isArray(a.keys)) report(`${path}.keys`, 'must be a list of { hash } objects');
    else {
      if (a.keys.length > MAX_KEYS_PER_APP)
        report(`${path}.keys`, `must hold at most ${MAX_KEYS_PER_APP} keys`);
      for (const [i, k] of a.keys.entries()) checkKey(k, `${path}.keys[${i}]`, report);
    }
  }
  if (a.weight !== undefined) {
    const w = a.weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0.01 || w > 1000)
      report(`${path}.weight`, 'must be a number from 0.01 to 1000');
  }
  if (a.maxPriority !== undefined && !PRIORITIES.includes(a.maxPriority as never))
    report(`${path}.maxPriority`, `must be one of ${PRIORITIES.join(', ')}`);
  if (a.maxQueue !== undefined && !positiveInt(a.maxQueue))
    report(`${path}.maxQueue`, 'must be a positive integer');
  if (a.quotas !== undefined) checkQuotas(a.quotas, `${path}.quotas`, report);
}

/** Checks the policy's `apps` section, reporting every problem with its path. */
export function checkApps(list: unknown, report: Report): void {
  if (!Array.isArray(list)) {
    report('apps', 'must be a list of applications');
    return;
  }
  if (list.length > MAX_APPS) report('apps', `must declare at most ${MAX_APPS} applications`);
  const checkName = uniqueNames('apps', report);
  const hashes = new Map<string, string>();
  for (const [a, path, i] of objectsOf(list, 'apps', report)) {
    checkApp(a, path, report);
    checkName(a, path, i);
    if (!Array.isArray(a.keys)) continue;
    for (const [j, k] of a.keys.entries()) {
      if (!isObject(k) || typeof k.hash !== 'string') continue;
      const owner = hashes.get(k.hash);
      // One key naming two apps would make the app of a request depend on list order.
      if (owner !== undefined) report(`${path}.keys[${j}].hash`, `is also a key of ${owner}`);
      else hashes.set(k.hash, String(a.name));
    }
  }
}
