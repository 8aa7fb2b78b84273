import { checkFunction, optNumber } from './check-options.js';
import { type CliffMemory, createCliffMemory, DEFAULT_CLIFF_PROBE_MS } from './cliff-memory.js';
import { limitBounds } from './concurrency-limiter.js';
import type { AimdOptions, AlgorithmSample, GradientOptions, LimitAlgorithm } from './limiter-types.js';

/** The limit an adaptive algorithm moves, its epochs and its cliff memory: what AIMD and gradient share. */
export interface LimitState {
  readonly min: number;
  readonly max: number;
  readonly limit: number;
  /** Bumped on every change of the limit. */
  readonly epoch: number;
  readonly cliff: CliffMemory;
  /** Moves the limit to `next`, kept within [min, max]; returns whether it changed (a new epoch). */
  set(next: number): boolean;
  /** The algorithm the limiter sees: this state, with the algorithm's own `onSample`. */
  algorithm(onSample: (sample: AlgorithmSample) => void): LimitAlgorithm;
}

/** Reads the bounds and cliff options shared by the adaptive algorithms (RangeError naming a bad one). */
export function createLimitState(options: AimdOptions | GradientOptions): LimitState {
  const { min, max, initial } = limitBounds(options);
  const cliffProbeMs = optNumber('cliffProbeMs', options.cliffProbeMs, DEFAULT_CLIFF_PROBE_MS, { min: 0 });
  const now = options.now === undefined ? Date.now : checkFunction<() => number>('now', options.now);
  const cliff = createCliffMemory({ intervalMs: cliffProbeMs, now });
  let limit = initial;
  let epoch = 0;
  const state: LimitState = {
    min,
    max,
    get limit() {
      return limit;
    },
    get epoch() {
      return epoch;
    },
    cliff,
    set(next) {
      const clamped = Math.min(max, Math.max(min, next));
      if (clamped === limit) return false;
      limit = clamped;
      epoch++;
      cliff.changed(limit, epoch);
      return true;
    },
    algorithm: (onSample) => ({
      min,
      get limit() {
        return limit;
      },
      get epoch() {
        return epoch;
      },
      get cliff() {
        return cliff.level;
      },
      onSample,
    }),
  };
  return state;
}
