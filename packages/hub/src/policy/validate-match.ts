import { parseCidr } from './ip.js';
import { anchoredRegex } from './match.js';

/** Collects every problem with its path instead of stopping at the first. */
export type Report = (path: string, message: string) => void;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The objects of a list section with their paths (`section[i]`) and indexes; an item that is not
 * an object is reported (as `must be an object`, or `like` a shape) and skipped. Lazy, so every
 * problem is reported in list order.
 */
export function* objectsOf(
  list: readonly unknown[],
  section: string,
  report: Report,
  like?: string,
): Generator<[item: Record<string, unknown>, path: string, index: number]> {
  for (const [i, item] of list.entries()) {
    const path = `${section}[${i}]`;
    if (isObject(item)) yield [item, path, i];
    else report(path, like === undefined ? 'must be an object' : `must be an object like ${like}`);
  }
}

/** Reports each item whose `name` repeats an earlier one's, as `duplicates <section>[i].name`. */
export function uniqueNames(
  section: string,
  report: Report,
): (item: Record<string, unknown>, path: string, index: number) => void {
  const first = new Map<string, number>();
  return (item, path, index) => {
    if (typeof item.name !== 'string') return;
    const earlier = first.get(item.name);
    if (earlier !== undefined) report(`${path}.name`, `duplicates ${section}[${earlier}].name`);
    else first.set(item.name, index);
  };
}

export function checkKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  report: Report,
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      report(`${path}.${k}`, `is not a known field (expected one of ${allowed.join(', ')})`);
  }
}

function checkStrings(v: unknown, path: string, report: Report, each?: (s: string, p: string) => void): void {
  const list = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length === 0) report(path, 'must not be an empty list');
  for (const [i, s] of list.entries()) {
    const p = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof s !== 'string' || s.length === 0) report(p, 'must be a non-empty string');
    else each?.(s, p);
  }
}

function checkRegex(source: string, path: string, report: Report): void {
  try {
    anchoredRegex(source);
  } catch (err) {
    report(path, `is not a valid regular expression (${(err as Error).message})`);
  }
}

function checkCondition(c: unknown, path: string, report: Report): void {
  if (!isObject(c)) {
    report(path, 'must be an object like { name, value } or { name, regex }');
    return;
  }
  checkKeys(c, ['name', 'value', 'regex'], path, report);
  if (typeof c.name !== 'string' || c.name.length === 0) report(`${path}.name`, 'must be a non-empty string');
  if (c.value !== undefined && typeof c.value !== 'string') report(`${path}.value`, 'must be a string');
  if (c.regex !== undefined) {
    if (typeof c.regex !== 'string') report(`${path}.regex`, 'must be a string');
    else checkRegex(c.regex, `${path}.regex`, report);
  }
  if (c.value !== undefined && c.regex !== undefined) report(path, 'must have value or regex, not both');
}

const MATCH_FIELDS = [
  'path',
  'pathPrefix',
  'method',
  'header',
  'param',
  'ip',
  'app',
  'scope',
  'invert',
  'caseInsensitive',
  'rejectAmbiguous',
] as const;

export interface CheckMatchOptions {
  /** The match belongs to an access rule: `rejectAmbiguous` is allowed. */
  access?: boolean;
}

export function checkMatch(m: unknown, path: string, report: Report, options: CheckMatchOptions = {}): void {
  if (!isObject(m)) {
    report(path, 'must be an object');
    return;
  }
  checkKeys(m, MATCH_FIELDS, path, report);
  const mustStartWithSlash = (s: string, p: string) => {
    if (!s.startsWith('/')) report(p, 'must start with /');
  };
  if (m.path !== undefined) checkStrings(m.path, `${path}.path`, report, mustStartWithSlash);
  if (m.pathPrefix !== undefined)
    checkStrings(m.pathPrefix, `${path}.pathPrefix`, report, mustStartWithSlash);
  if (m.method !== undefined)
    checkStrings(m.method, `${path}.method`, report, (s, p) => {
      if (!/^[A-Za-z]+$/.test(s)) report(p, 'must be an HTTP method name');
    });
  for (const field of ['header', 'param'] as const) {
    const v = m[field];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) report(`${path}.${field}`, 'must not be an empty list');
      for (const [i, c] of v.entries()) checkCondition(c, `${path}.${field}[${i}]`, report);
    } else checkCondition(v, `${path}.${field}`, report);
  }
  if (m.ip !== undefined)
    checkStrings(m.ip, `${path}.ip`, report, (s, p) => {
      if (!parseCidr(s)) report(p, 'must be an IP address or CIDR');
    });
  if (m.app !== undefined) checkStrings(m.app, `${path}.app`, report);
  if (m.scope !== undefined) checkStrings(m.scope, `${path}.scope`, report);
  for (const flag of ['invert', 'caseInsensitive', 'rejectAmbiguous'] as const) {
    if (m[flag] !== undefined && typeof m[flag] !== 'boolean') report(`${path}.${flag}`, 'must be a boolean');
  }
  if (m.rejectAmbiguous !== undefined && options.access !== true)
    report(
      `${path}.rejectAmbiguous`,
      'only applies to access rules (use the top-level paths.rejectAmbiguous)',
    );
}
