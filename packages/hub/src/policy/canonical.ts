import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal definitions give equal text whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A short stable hash of a definition: rules with the same hash share counters across updates. */
export function definitionHash(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('base64url').slice(0, 22);
}
