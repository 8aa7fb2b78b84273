import { parseDuration } from '@slime/protocol';

/**
 * Parses an `X-Can-Wait` value into ms with the one duration grammar (protocol's `parseDuration`):
 * a plain number of seconds (`2`, `0.5`) or a duration (`250ms`, `2s`, `1m30s`), without days and
 * weeks. Returns undefined for anything else (negative, empty, junk, over 32 characters), which the
 * caller answers with 400: a bad header is the client's mistake, not the hub's.
 */
export function parseCanWait(value: string): number | undefined {
  const v = value.trim();
  if (v.length > 32) return undefined;
  return parseDuration(v, { calendarUnits: false });
}
