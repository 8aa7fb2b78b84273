import { UsageError } from './usage-error.js';

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

/**
 * Parses a duration into milliseconds: Go syntax (`1h2m3s`, `500ms`, `1.5h`) plus days (`30d`)
 * and weeks. A bare number means seconds, so `--block-timeout 30` and `BLOCK_TIMEOUT=30` work
 * the way the Go flag documentation reads. Negative durations are refused: every duration we
 * take is a timeout or a lifetime.
 *
 * @returns milliseconds, or `undefined` when `text` is not a duration.
 */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (BARE_NUMBER.test(s)) return Number(s) * 1000;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (m === null || m.index !== start) return undefined;
    const unit = UNIT_MS[m[2] as string];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Like {@link parseDurationMs} but throws a {@link UsageError} naming where the value came from. */
export function requireDurationMs(text: string, what: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new UsageError(`${what}: "${text}" is not a duration (examples: 30s, 1h2m3s, 30d, 500ms)`);
  }
  return ms;
}
