/** Small validators shared by the shaping factories: they throw naming the option. */

export function checkNumber(
  name: string,
  value: unknown,
  range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name} must be a finite number`);
  if (range.integer && !Number.isInteger(value)) throw new TypeError(`${name} must be an integer`);
  if (range.min !== undefined) {
    if (range.exclusiveMin ? value <= range.min : value < range.min) {
      throw new RangeError(`${name} must be ${range.exclusiveMin ? '>' : '>='} ${range.min}`);
    }
  }
  if (range.max !== undefined && value > range.max) throw new RangeError(`${name} must be <= ${range.max}`);
  return value;
}

/** Like checkNumber but returns `fallback` when the value is undefined. */
export function optNumber(
  name: string,
  value: unknown,
  fallback: number,
  range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  return value === undefined ? fallback : checkNumber(name, value, range);
}

export function checkFunction<T>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function`);
  return value as T;
}
