import { checkFunction, optNumber } from './check-options.js';
import { createLimitState } from './limit-state.js';
import type { GradientOptions, LimitAlgorithm } from './limiter-types.js';

/**
 * Latency gradient (after Netflix's Gradient/Vegas and Envoy's adaptive concurrency): once per
 * window of about `limit` samples (one round trip at saturation), compare the window's mean
 * latency with the no-load baseline and set
 *
 *   target = limit * clamp(tolerance * baseline / mean, 0.5, 1) + sqrt(limit)
 *
 * The sqrt(limit) headroom lets the limit grow while latency stays at the baseline and sets how
 * much queueing the upstream is allowed at equilibrium. A 5xx or timeout closes the window at once
 * and backs off by `backoffRatio` instead, since an overloaded server's fast 500s would otherwise
 * look like speed; failures of requests sent before that backoff do not count again (TCP's one cut
 * per window).
 *
 * The baseline is the lowest window mean seen since the last probe. A baseline learned under load
 * drifts up and lets the limit creep with it; one learned long ago can sit below a latency that
 * has truly changed and pins the limit near the floor. So every `probeIntervalWindows` windows
 * (jittered by +-25% with the injected randomness, so many hubs do not probe in step) the limit
 * drops to `probeRatio` of itself for one window, and that window's mean becomes the baseline.
 *
 * A window with errors also remembers the limit it ran at: the limit then grows no further than
 * one below it, and reaches it again only once per `cliffProbeMs` (see `createCliffMemory`).
 */
export function createGradientAlgorithm(options: GradientOptions): LimitAlgorithm {
  const state = createLimitState(options);
  const { cliff } = state;
  const backoffRatio = optNumber('backoffRatio', options.backoffRatio, 0.9, { min: 0.5, max: 0.99 });
  const tolerance = optNumber('tolerance', options.tolerance, 1.0, { min: 1, max: 2 });
  const smoothing = optNumber('smoothing', options.smoothing, 0.2, { min: 0, max: 1, exclusiveMin: true });
  const minWindow = optNumber('minWindowSamples', options.minWindowSamples, 10, { min: 1, integer: true });
  const probeEvery = optNumber('probeIntervalWindows', options.probeIntervalWindows, 50, {
    min: 2,
    integer: true,
  });
  const probeRatio = optNumber('probeRatio', options.probeRatio, 0.5, { min: 0, max: 1, exclusiveMin: true });
  const random =
    options.random === undefined ? Math.random : checkFunction<() => number>('random', options.random);
  if (probeRatio >= 1) throw new RangeError('probeRatio must be < 1');

  let baseline: number | undefined;
  let probeSavedLimit: number | undefined;
  // The epoch of the last backoff: failures of requests sent before it were already answered for.
  let lastCut = 0;
  let windowsToProbe = nextProbe();
  // The window being filled: latency of answered requests, count of failed ones, peak in-flight.
  let count = 0;
  let latencySum = 0;
  let latencyCount = 0;
  let failures = 0;
  let peakInFlight = 0;

  function nextProbe(): number {
    return Math.max(1, Math.round(probeEvery * (0.75 + 0.5 * random())));
  }

  function setLimit(next: number): void {
    const limit = state.limit;
    // Growth stops below the level where errors began, except for a probe now and then.
    state.set(next > limit ? Math.max(limit, Math.min(next, cliff.ceiling())) : next);
  }

  function closeWindow(): void {
    const limit = state.limit;
    const mean = latencyCount > 0 ? latencySum / latencyCount : undefined;
    const failed = failures > 0;
    const appLimited = peakInFlight * 2 < limit;
    count = latencySum = latencyCount = failures = peakInFlight = 0;

    if (failed) cliff.error(limit);
    if (probeSavedLimit !== undefined) {
      // The probe window ran at a reduced limit: its mean is the no-load latency, unless it failed.
      if (mean !== undefined && !failed) baseline = mean;
      const restore = failed ? probeSavedLimit * backoffRatio : probeSavedLimit;
      probeSavedLimit = undefined;
      windowsToProbe = nextProbe();
      setLimit(restore);
      if (failed) lastCut = state.epoch;
      return;
    }
    if (failed) {
      setLimit(limit * backoffRatio);
      lastCut = state.epoch;
    } else if (mean !== undefined) {
      baseline = baseline === undefined ? mean : Math.min(baseline, mean);
      const gradient = Math.min(1, Math.max(0.5, (tolerance * baseline) / mean));
      let target = limit * gradient + Math.sqrt(limit);
      if (appLimited) target = Math.min(target, limit);
      setLimit(limit * (1 - smoothing) + target * smoothing);
    }
    if (--windowsToProbe <= 0) {
      probeSavedLimit = state.limit;
      setLimit(Math.floor(state.limit * probeRatio));
    }
  }

  return state.algorithm((sample) => {
    // During a probe only requests sent at the reduced limit measure the no-load latency.
    if (probeSavedLimit !== undefined && sample.epoch !== state.epoch) return;
    const failed = sample.outcome !== 'success';
    if (failed && sample.epoch < lastCut) return;
    count++;
    peakInFlight = Math.max(peakInFlight, sample.inFlight);
    if (sample.outcome === 'success') {
      latencySum += sample.latencyMs;
      latencyCount++;
      cliff.success(sample.epoch);
    } else {
      failures++;
    }
    // A failure backs off at once: past a cliff every round trip spent at the limit costs failed
    // requests (an instant 500 frees its slot for the next one to fail).
    if (failed || count >= Math.max(minWindow, Math.ceil(state.limit))) closeWindow();
  });
}
