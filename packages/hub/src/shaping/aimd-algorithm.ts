import { checkFunction, checkNumber, optNumber } from './check-options.js';
import { createCliffMemory, DEFAULT_CLIFF_PROBE_MS } from './cliff-memory.js';
import { limitBounds } from './concurrency-limiter.js';
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
  const { min, max, initial } = limitBounds(options);
  const backoffRatio = optNumber('backoffRatio', options.backoffRatio, 0.9, { min: 0.5, max: 0.99 });
  const threshold =
    options.latencyThresholdMs === undefined
      ? Number.POSITIVE_INFINITY
      : checkNumber('latencyThresholdMs', options.latencyThresholdMs, { min: 0, exclusiveMin: true });
  const cliffProbeMs = optNumber('cliffProbeMs', options.cliffProbeMs, DEFAULT_CLIFF_PROBE_MS, { min: 0 });
  const now = options.now === undefined ? Date.now : checkFunction<() => number>('now', options.now);
  const cliff = createCliffMemory({ intervalMs: cliffProbeMs, now });
  let limit = initial;
  let epoch = 0;
  let lastCut = 0;

  return {
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
    onSample(sample) {
      const failed = sample.outcome !== 'success';
      const drop = failed || sample.latencyMs > threshold;
      if (drop) {
        if (sample.epoch < lastCut) return;
        if (failed) cliff.error(limit);
        const next = Math.max(min, Math.floor(limit * backoffRatio));
        if (next === limit) return;
        limit = next;
        lastCut = ++epoch;
        cliff.changed(limit, epoch);
        return;
      }
      cliff.success(sample.epoch);
      // An idle window says nothing about capacity: growing it would only store up a burst.
      if (sample.epoch === epoch && sample.inFlight * 2 >= limit && limit < max) {
        const next = Math.min(max, limit + 1);
        if (next > cliff.ceiling()) return;
        limit = next;
        epoch++;
        cliff.changed(limit, epoch);
      }
    },
  };
}
