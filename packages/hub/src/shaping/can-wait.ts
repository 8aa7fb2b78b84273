const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses an `X-Can-Wait` value into ms: a plain number of seconds (`2`, `0.5`), or a Go-style
 * duration (`250ms`, `2s`, `1m30s`). Returns undefined for anything else (negative, empty, junk),
 * which the caller answers with 400: a bad header is the client's mistake, not the hub's.
 */
export function parseCanWait(value: string): number | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > 32) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(v)) return Number(v) * 1000;
  PART.lastIndex = 0;
  let ms = 0;
  while (PART.lastIndex < v.length) {
    const at = PART.lastIndex;
    const m = PART.exec(v);
    if (!m || m.index !== at) return undefined;
    ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return Number.isFinite(ms) ? ms : undefined;
}
