import { checkNumber, optNumber } from './check-options.js';
import { createLimitState } from './limit-state.js';
import type { AimdOptions, LimitAlgorithm } from './limiter-types.js';

/**
 * Additive increase, multiplicative decrease (TCP's congestion window, Netflix's AIMDLimit):
 * +1 on a success while at least half the window was in use, `x backoffRatio` on a drop.
 *
 * Feedback arrives one round trip late, so not every sample may move the limit:
 * - a drop cuts only if its request was sent after the last cut. Otherwise a whole window sent
 *   before the upstream slowed down comes back as drops and cuts once per request (0.9^40 is
 *   0.015: a collapse). This is TCP's one cut per window.
 * - a success adds one only if its request was sent under the current limit. Otherwise every
 *   success of a window sent at the old limit adds one, the limit doubles per round trip and
 *   overshoots far past capacity before the first slow answer is back.
 * So the limit grows by about one per round trip and backs off once per round trip.
 *
 * An error drop (5xx, timeout; not a slow answer) also remembers the limit it happened at: growth
 * then stops one below it, and steps up to it again only once per `cliffProbeMs` (see
 * `createCliffMemory`). At an upstream that fails fast past its capacity this turns one failed
 * request every few round trips into one per `cliffProbeMs`.
 */
export function createAimdAlgorithm(options: AimdOptions): LimitAlgorithm {
  const state = createLimitState(options);
  const { min, max, cliff } = state;
  const backoffRatio = optNumber('backoffRatio', options.backoffRatio, 0.9, { min: 0.5, max: 0.99 });
  const threshold =
    options.latencyThresholdMs === undefined
      ? Number.POSITIVE_INFINITY
      : checkNumber('latencyThresholdMs', options.latencyThresholdMs, { min: 0, exclusiveMin: true });
  let lastCut = 0;

  return state.algorithm((sample) => {
    const failed = sample.outcome !== 'success';
    const drop = failed || sample.latencyMs > threshold;
    const limit = state.limit;
    if (drop) {
      if (sample.epoch < lastCut) return;
      if (failed) cliff.error(limit);
      if (state.set(Math.max(min, Math.floor(limit * backoffRatio)))) lastCut = state.epoch;
      return;
    }
    cliff.success(sample.epoch);
    // An idle window says nothing about capacity: growing it would only store up a burst.
    if (sample.epoch === state.epoch && sample.inFlight * 2 >= limit && limit < max) {
      const next = Math.min(max, limit + 1);
      if (next > cliff.ceiling()) return;
      state.set(next);
    }
  });
}
