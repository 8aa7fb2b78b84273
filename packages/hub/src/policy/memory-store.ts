import { type CounterState, charged, evaluate } from './algorithms.js';
import { type CheckResult, type CounterStore, ID_SEPARATOR, type LimitSpec } from './store.js';

/** Default bound on counters kept in memory (one per rule and key value). */
export const DEFAULT_MAX_COUNTERS = 100_000;

export interface MemoryStoreOptions {
  /** Most counters kept; the least recently used is forgotten beyond it. Default 100 000. */
  maxCounters?: number;
}

/**
 * Counters in this process. A Map keeps insertion order, so re-inserting on use makes the first
 * key the least recently used; evicting it forgets a quiet client, which then starts afresh.
 */
export function createMemoryStore(
  options: MemoryStoreOptions = {},
): CounterStore & { readonly size: number } {
  const max = options.maxCounters ?? DEFAULT_MAX_COUNTERS;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxCounters must be a positive integer');
  const counters = new Map<string, CounterState>();

  const put = (id: string, s: CounterState) => {
    counters.delete(id);
    counters.set(id, s);
    if (counters.size > max) counters.delete(counters.keys().next().value!);
  };

  const checkAndChargeSync = (limits: readonly LimitSpec[], now: number): CheckResult => {
    const evals = limits.map((l) => evaluate(l, counters.get(l.id), now));
    const admitted = evals.every((e) => e.allowed);
    if (admitted) {
      for (const [i, l] of limits.entries()) put(l.id, charged(l, evals[i]!.state, l.cost));
    }
    return {
      admitted,
      limits: evals.map(({ allowed, remaining, resetMs, retryAfterMs }) => ({
        allowed,
        remaining,
        resetMs,
        retryAfterMs,
      })),
    };
  };

  return {
    get size() {
      return counters.size;
    },
    async checkAndCharge(limits, now) {
      return checkAndChargeSync(limits, now);
    },
    async charge(limits, amount, now) {
      for (const l of limits) put(l.id, charged(l, evaluate(l, counters.get(l.id), now).state, amount));
    },
    async retainRules(ruleHashes) {
      for (const id of counters.keys()) {
        if (!ruleHashes.has(id.slice(0, id.indexOf(ID_SEPARATOR)))) counters.delete(id);
      }
    },
    async close() {
      counters.clear();
    },
  };
}
