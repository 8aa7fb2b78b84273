import { CloseCode } from '@slime/protocol';

/** Label value for agents whose token carries no scope: they serve unscoped requests. */
export const ANY_SCOPE = '_any';

/** Values that reach a label only when they look like an identifier, so odd input cannot explode series. */
const SAFE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Keeps a label's set of values bounded: the first `max` distinct safe values are kept, later
 * ones (and unsafe ones) become "other". Outcomes and policy names are bounded by design; this
 * guards against a bug or a hostile policy file turning them into a cardinality bomb.
 */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (!SAFE.test(value)) return 'other';
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

const CLOSE_NAMES = new Map<number, string>(
  Object.entries(CloseCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A close code as a bounded label: the protocol's name for it, "going_away", "abnormal" or "other". */
export function closeReasonLabel(code: number): string {
  const known = CLOSE_NAMES.get(code);
  if (known) return known;
  if (code === 1001) return 'going_away';
  if (code === 1005 || code === 1006) return 'abnormal';
  return 'other';
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** "2xx".."5xx"; anything outside 100-599 (e.g. 499 for a client that left) keeps its class too. */
export function statusClass(status: number): string {
  if (!Number.isInteger(status) || status < 100 || status > 599) return 'other';
  return STATUS_CLASSES[Math.floor(status / 100) - 1]!;
}
