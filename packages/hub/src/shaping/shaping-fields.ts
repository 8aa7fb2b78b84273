import { parseDuration } from '@slime/protocol';

// The field tables shaping's policy section is checked against: one function reads any of them.

export type Kind = 'int' | 'number' | 'duration' | 'bool' | 'string';
export interface Field {
  kind: Kind;
  min?: number;
  max?: number;
  /** min is exclusive */
  above?: boolean;
}
export type Spec = Record<string, Field>;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A duration in the shaping section: a number of ms, or a string in the one duration grammar
 * (`250ms`, `2s`, `1m30s`, `2w`) that ends in its unit (a bare string number would read as seconds
 * there, while a bare number here is ms: refused rather than guessed).
 */
export function toMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /[a-zµμ]$/.test(v.trim())) return parseDuration(v);
  return undefined;
}

/**
 * Reads one object of a shaping group against its field table: unknown keys, wrong kinds and
 * out-of-range values become errors (with their path); good values are returned, durations in ms.
 */
export function section(
  raw: unknown,
  path: string,
  spec: Spec,
  errors: string[],
  skip: string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(raw)) {
    errors.push(`${path} must be an object`);
    return out;
  }
  for (const [key, value] of Object.entries(raw)) {
    const field = spec[key];
    const at = `${path}.${key}`;
    if (!field) {
      errors.push(`${at} is not a known option (${Object.keys(spec).join(', ')})`);
      continue;
    }
    if (skip.includes(key) || value === undefined) continue;
    let v: unknown = value;
    if (field.kind === 'bool' || field.kind === 'string') {
      if (typeof value !== (field.kind === 'bool' ? 'boolean' : 'string')) {
        errors.push(`${at} must be a ${field.kind === 'bool' ? 'boolean' : 'string'}`);
        continue;
      }
    } else {
      v = field.kind === 'duration' ? toMs(value) : value;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        errors.push(
          `${at} must be ${field.kind === 'duration' ? 'a duration (ms, or a string like "250ms")' : 'a number'}`,
        );
        continue;
      }
      if (field.kind === 'int' && !Number.isInteger(v)) {
        errors.push(`${at} must be an integer`);
        continue;
      }
      if (field.min !== undefined && (field.above ? v <= field.min : v < field.min)) {
        errors.push(`${at} must be ${field.above ? '>' : '>='} ${field.min}`);
        continue;
      }
      if (field.max !== undefined && v > field.max) {
        errors.push(`${at} must be <= ${field.max}`);
        continue;
      }
    }
    out[key] = v;
  }
  return out;
}
