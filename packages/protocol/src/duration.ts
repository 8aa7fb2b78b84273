// Go's time.ParseDuration units plus `d` and `w`, because token lifetimes are written in days
// (`--age 30d`) and Go users asked for it.
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)/y;
const BARE_NUMBER = /^(\d+(?:\.\d*)?|\.\d+)$/;

export interface DurationOptions {
  /**
   * Whether `d` and `w` are taken (default true). A per-request header (X-Can-Wait) leaves them
   * out: a wait of days is a client's mistake there, and it was refused before the grammars merged.
   */
  calendarUnits?: boolean;
}

/**
 * The one duration grammar of the command line, the policy file and request headers: Go syntax
 * (`1h2m3s`, `500ms`, `1.5h`, `.5s`, `250us`) plus days (`30d`) and weeks (`2w`); a bare number
 * means seconds. Negative durations are refused: every duration we take is a timeout, a window or
 * a lifetime. Whitespace around the value is ignored; inside it, it is not.
 *
 * @example
 * parseDuration('1m30s'); // 90000
 * parseDuration('2');     // 2000
 * parseDuration('5d', { calendarUnits: false }); // undefined
 * @returns milliseconds, or `undefined` when `text` is not a duration.
 */
export function parseDuration(text: string, options?: DurationOptions): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (BARE_NUMBER.test(s)) return Number(s) * 1000;
  const calendar = options?.calendarUnits !== false;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (m === null || m.index !== start) return undefined;
    const name = m[2] as string;
    if (!calendar && (name === 'd' || name === 'w')) return undefined;
    total += Number(m[1]) * (UNIT_MS[name] as number);
  }
  return Number.isFinite(total) ? total : undefined;
}
