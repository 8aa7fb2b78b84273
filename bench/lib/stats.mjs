// Small statistics helpers; the scenarios keep raw samples and summarise them here.

/** The q-quantile (0..1) of numbers, nearest-rank; NaN for no samples. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function median(values) {
  return quantile(values, 0.5);
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

/** a / b, or NaN when b is 0. */
export function ratio(a, b) {
  return b ? a / b : Number.NaN;
}

/** Formats for the tables: fixed decimals, thousands separators, and '-' for missing numbers. */
export function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(n) {
  return Number.isNaN(n) || n === undefined ? '-' : `${n.toFixed(2)}x`;
}

export function mb(bytes) {
  return bytes / (1024 * 1024);
}
