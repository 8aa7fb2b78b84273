const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `"500ms"`, `"30s"`, `"1m"`, `"1h"`, `"1d"`, or a number of seconds; undefined when invalid. */
export function parseWindow(v: unknown): number | undefined {
  if (typeof v === 'number')
    return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) || undefined : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
  return ms > 0 ? ms : undefined;
}
