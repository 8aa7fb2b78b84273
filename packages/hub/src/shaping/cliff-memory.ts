/**
 * Where an upstream's errors began, and when the limit may test that level again.
 *
 * An upstream that answers overload with an instant 500 (no queue, so no latency signal first)
 * punishes every additive probe above its capacity with a failed request. Plain AIMD probes once
 * per few round trips, so at a stable cliff a steady share of answers are 500s. This is CUBIC's
 * plateau around W_max in concurrency terms: after an error drop at limit L, growth stops at
 * L - 1 (the highest level known to work), and only once `intervalMs` has passed since the last
 * error may the limit step up to L again. That probe costs at most one round trip of requests at
 * L; if a round trip's worth of requests sent at L all succeed, the capacity has grown, the memory
 * is forgotten and growth resumes. An error below the remembered level lowers it.
 */
export interface CliffMemory {
  /** The limit at which errors began; undefined when nothing is remembered. */
  readonly level: number | undefined;
  /** The highest limit growth may reach now (Infinity without a memory). */
  ceiling(): number;
  /** An error (5xx, timeout) made the algorithm drop while its limit was `limit`. */
  error(limit: number): void;
  /** The algorithm's limit is now `limit`, from epoch `epoch`: starts or abandons a probe. */
  changed(limit: number, epoch: number): void;
  /** A success of a request sent at `epoch`: a round trip of them at the probe level passes it. */
  success(epoch: number): void;
}

/** Default time between steps up to the level where errors began (`cliffProbeMs`). */
export const DEFAULT_CLIFF_PROBE_MS = 3000;

export function createCliffMemory(options: { intervalMs: number; now: () => number }): CliffMemory {
  const { intervalMs, now } = options;
  let level: number | undefined;
  let lastErrorAt = Number.NEGATIVE_INFINITY;
  // The epoch at which the limit reached `level` again (a probe is running), and its successes.
  let probeEpoch: number | undefined;
  let probeSuccesses = 0;

  return {
    get level() {
      return level;
    },
    ceiling() {
      if (level === undefined) return Number.POSITIVE_INFINITY;
      return now() - lastErrorAt >= intervalMs ? level : level - 1;
    },
    error(limit) {
      // 0 turns the memory off: every round trip may probe (plain AIMD / gradient).
      if (intervalMs <= 0) return;
      const at = Math.floor(limit);
      level = level === undefined ? at : Math.min(level, at);
      lastErrorAt = now();
      probeEpoch = undefined;
      probeSuccesses = 0;
    },
    changed(limit, epoch) {
      if (level === undefined) return;
      if (Math.floor(limit) < level) {
        probeEpoch = undefined;
        probeSuccesses = 0;
      } else if (probeEpoch === undefined) {
        probeEpoch = epoch;
        probeSuccesses = 0;
      }
    },
    success(epoch) {
      if (level === undefined || probeEpoch === undefined || epoch < probeEpoch) return;
      if (++probeSuccesses >= level) {
        level = undefined;
        probeEpoch = undefined;
        probeSuccesses = 0;
      }
    },
  };
}
