import { createAimdAlgorithm } from './aimd-algorithm.js';
import { checkNumber, optNumber } from './check-options.js';
import { createGradientAlgorithm } from './gradient-algorithm.js';
import type { LimitAlgorithm, LimiterOptions, Sample } from './limiter-types.js';

/** A slot held by one dispatched request. Release it exactly once, when the upstream answered. */
export interface Permit {
  /** Records how the request went and frees the slot; later calls are ignored. */
  release(sample?: Sample): void;
}

export interface ConcurrencyLimiter {
  readonly mode: LimiterOptions['mode'];
  /** The adaptive limit after the external cap factor; may be fractional (admission uses its floor). */
  readonly limit: number;
  /** The limit the algorithm learned, before the cap factor. */
  readonly learnedLimit: number;
  readonly inFlight: number;
  /** The limit at which errors began, while growth is held just below it (aimd, gradient). */
  readonly cliff: number | undefined;
  /** A slot, or undefined when `inFlight >= floor(limit)`. */
  tryAcquire(): Permit | undefined;
  /**
   * Called (synchronously) whenever a slot may have become free: a permit was released or the
   * limit grew. Lets the dispatcher's queue wake at once instead of polling. `front` listeners
   * first, then the others in the order they subscribed. Returns an unsubscribe.
   */
  onAvailable(listener: () => unknown, options?: WaiterOptions): () => void;
  /** Scales the limit by an external signal's factor in (0, 1]; the result never goes below `min`. */
  setCapFactor(factor: number): void;
}

/** How a listener is ordered among the others. */
export interface WaiterOptions {
  front?: boolean;
}

/**
 * Creates an adaptive concurrency limiter for one agent group.
 *
 * @example
 * const limiter = createConcurrencyLimiter({ mode: 'aimd', min: 1, max: 64, latencyThresholdMs: 800 });
 * const permit = limiter.tryAcquire();
 * if (!permit) throw overloaded();
 * const t0 = now();
 * try { await send(); permit.release({ latencyMs: now() - t0, outcome: 'success' }); }
 * catch { permit.release({ latencyMs: now() - t0, outcome: 'error' }); }
 */
export function createConcurrencyLimiter(options: LimiterOptions): ConcurrencyLimiter {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const algorithm = createAlgorithm(options);
  const min = algorithm.min;
  let inFlight = 0;
  let capFactor = 1;
  const listeners = new Set<() => unknown>();
  const front = new Set<() => unknown>();

  const effective = (): number => Math.max(min, algorithm.limit * capFactor);

  const notify = (): void => {
    // A snapshot: a listener may unsubscribe itself (or others) while being called.
    for (const listener of [...front, ...listeners]) listener();
  };

  // Wake waiters only when a whole slot is usable: fractional growth admits nobody.
  const notifyIfFree = (): void => {
    if (inFlight < Math.floor(effective())) notify();
  };

  return {
    mode: options.mode,
    get limit() {
      return effective();
    },
    get learnedLimit() {
      return algorithm.limit;
    },
    get inFlight() {
      return inFlight;
    },
    get cliff() {
      return algorithm.cliff;
    },
    tryAcquire() {
      if (inFlight >= Math.floor(effective())) return undefined;
      inFlight++;
      const epoch = algorithm.epoch;
      let released = false;
      return {
        release(sample?: Sample) {
          if (released) return;
          released = true;
          // "Was the window used" is judged when the answer arrives, counting this request.
          const used = inFlight;
          inFlight--;
          if (sample && sample.outcome !== 'ignore') algorithm.onSample({ ...sample, inFlight: used, epoch });
          notifyIfFree();
        },
      };
    },
    onAvailable(listener, options = {}) {
      const set = options.front === true ? front : listeners;
      set.add(listener);
      return () => set.delete(listener);
    },
    setCapFactor(factor) {
      checkNumber('factor', factor, { min: 0, max: 1, exclusiveMin: true });
      const before = effective();
      capFactor = factor;
      if (effective() > before) notifyIfFree();
    },
  };
}

function createAlgorithm(options: LimiterOptions): LimitAlgorithm {
  switch (options.mode) {
    case 'aimd':
      return createAimdAlgorithm(options);
    case 'gradient':
      return createGradientAlgorithm(options);
    case 'fixed': {
      const limit = checkNumber('limit', options.limit, { min: 1, integer: true });
      return { min: limit, limit, epoch: 0, onSample() {} };
    }
    default:
      throw new TypeError(`mode must be 'aimd', 'gradient' or 'fixed'`);
  }
}

/** Shared bounds: min >= 1, max >= min, initial within them. */
export function limitBounds(options: { min?: number; max?: number; initial?: number }): {
  min: number;
  max: number;
  initial: number;
} {
  const min = optNumber('min', options.min, 1, { min: 1, integer: true });
  const max = optNumber('max', options.max, 1000, { min: 1, integer: true });
  if (max < min) throw new RangeError(`max must be >= min (${min})`);
  const initial = optNumber('initial', options.initial, Math.min(max, Math.max(min, 10)), {
    min,
    max,
    integer: true,
  });
  return { min, max, initial };
}
