import { createHash } from 'node:crypto';
import type { RequestView } from './request-view.js';
import type { KeySpec } from './types.js';

// A request with more distinct values than this for one key is charged on the first ones only.
const MAX_VALUES_PER_KEY = 16;
// Longer values are hashed so a hostile header cannot bloat the counter store.
const MAX_VALUE_CHARS = 128;

/** Parses `header:X`, `param:Y`, `ip`, `app`, `scope`, `path`, `method`. */
export function parseKey(s: string): KeySpec | undefined {
  const colon = s.indexOf(':');
  if (colon < 0) {
    if (s === 'ip' || s === 'app' || s === 'scope' || s === 'path' || s === 'method') return { kind: s };
    return undefined;
  }
  const kind = s.slice(0, colon);
  const name = s.slice(colon + 1);
  if (name.length === 0) return undefined;
  if (kind === 'header') return { kind, name: name.toLowerCase() };
  if (kind === 'param') return { kind, name };
  return undefined;
}

export function shortenValue(v: string): string {
  return v.length <= MAX_VALUE_CHARS ? v : `#${createHash('sha256').update(v).digest('base64url')}`;
}

/**
 * The distinct key values of a request; empty when it has none (the rule does not apply). Every
 * distinct value of a repeated parameter is charged, so `?a=1&a=2` cannot dodge the limit on `a=2`.
 * With `foldPath` (case-insensitive paths) the path key is lower-cased, so `/A` and `/a` share one.
 */
export function keyValues(key: KeySpec, view: RequestView, foldPath = false): string[] {
  let raw: readonly string[];
  switch (key.kind) {
    case 'header':
      raw = view.header(key.name);
      break;
    case 'param':
      raw = view.param(key.name);
      break;
    case 'ip':
      raw = [view.ipText];
      break;
    case 'app':
      raw = view.app === undefined ? [] : [view.app];
      break;
    case 'scope':
      raw = view.scope === undefined ? [] : [view.scope];
      break;
    case 'path':
      raw = [foldPath ? view.path.toLowerCase() : view.path];
      break;
    case 'method':
      raw = [view.method];
      break;
  }
  if (raw.length === 1) return [shortenValue(raw[0]!)];
  return [...new Set(raw)].slice(0, MAX_VALUES_PER_KEY).map(shortenValue);
}
