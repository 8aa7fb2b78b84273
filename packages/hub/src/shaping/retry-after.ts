/**
 * An upstream's `Retry-After` (RFC 9110 §10.2.3) as milliseconds from now: delay-seconds or an
 * HTTP-date. Undefined when absent or malformed; a date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,10}(\.\d+)?$/.test(v)) return Number(v) * 1000;
  // An HTTP-date always names the weekday and GMT; anything else Date.parse might accept is not one.
  if (!/^[A-Za-z]{3,9},? .+ GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The first value of a header in a header list, by case-insensitive name. */
export function headerValue(
  headers: ReadonlyArray<readonly [string, string]>,
  name: string,
): string | undefined {
  for (const [k, v] of headers) if (k.length === name.length && k.toLowerCase() === name) return v;
  return undefined;
}
