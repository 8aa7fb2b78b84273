import { parseDuration } from '@slime/protocol';

/**
 * A policy-file duration: the command line's grammar (`"500ms"`, `"30s"`, `"1m30s"`, `"2w"`), or a
 * number of seconds; undefined when invalid or not positive.
 */
export function parseWindow(v: unknown): number | undefined {
  if (typeof v === 'number')
    return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) || undefined : undefined;
  if (typeof v !== 'string') return undefined;
  const ms = parseDuration(v);
  return ms !== undefined && ms > 0 ? Math.round(ms) || undefined : undefined;
}
