import { checkNumber, optNumber } from './check-options.js';

/**
 * Tells a fast throttle answer (an upstream refusing work at once: a bare 500 or 503 in a
 * millisecond) from a genuine failure that took the upstream real work. The group learns what its
 * real answers cost: the 10th percentile of the latency of its last `window` successful (< 400)
 * answers. An answer quicker than `fastRatio` of that is a throttle; a slower one is a result and
 * goes to the client as it is. `maxLatencyMs` caps the bound, and is the bound until enough
 * successes have been seen (without it nothing counts as fast until then).
 */
export interface ThrottleLatency {
  /** The current bound, ms; undefined until learned (and no `maxLatencyMs`). */
  readonly boundMs: number | undefined;
  /** Records an answer's status and its time to the response head. */
  record(status: number, latencyMs: number): void;
  /** Whether an answer this quick is within the bound. */
  isFast(latencyMs: number): boolean;
}

export interface ThrottleLatencyOptions {
  /** Share of the typical success latency under which an answer is a throttle; (0, 1]. Default 0.5. */
  fastRatio?: number;
  /** Upper bound, ms; also the bound before anything is learned. Default none. */
  maxLatencyMs?: number;
  /** How many recent successes the typical latency is taken from. Default 64. */
  window?: number;
  /** Fewest successes before the learned bound applies. Default 8. */
  minSamples?: number;
}

export function createThrottleLatency(options: ThrottleLatencyOptions = {}): ThrottleLatency {
  const ratio = optNumber('fastRatio', options.fastRatio, 0.5, { min: 0, max: 1, exclusiveMin: true });
  const cap =
    options.maxLatencyMs === undefined
      ? undefined
      : checkNumber('maxLatencyMs', options.maxLatencyMs, { min: 0, exclusiveMin: true });
  const size = optNumber('window', options.window, 64, { min: 1, integer: true });
  const minSamples = optNumber('minSamples', options.minSamples, 8, { min: 1, integer: true });
  const ring = new Array<number>(size).fill(0);
  let next = 0;
  let filled = 0;
  let cached: number | undefined;
  let stale = true;

  const bound = (): number | undefined => {
    if (!stale) return cached;
    stale = false;
    if (filled < minSamples) {
      cached = cap;
      return cached;
    }
    const sorted = ring.slice(0, filled).sort((a, b) => a - b);
    const learned = ratio * sorted[Math.floor(filled * 0.1)]!;
    cached = cap === undefined ? learned : Math.min(cap, learned);
    return cached;
  };

  return {
    get boundMs() {
      return bound();
    },
    record(status, latencyMs) {
      if (status >= 400 || !(latencyMs >= 0)) return;
      ring[next] = latencyMs;
      next = (next + 1) % size;
      filled = Math.min(size, filled + 1);
      stale = true;
    },
    isFast(latencyMs) {
      const b = bound();
      return b !== undefined && latencyMs <= b;
    },
  };
}
