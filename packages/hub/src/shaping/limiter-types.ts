/** How a request that held a permit ended, as the limiter sees it. */
export type SampleOutcome = 'success' | 'error' | 'timeout' | 'ignore';

export interface Sample {
  /** Time from dispatch to the upstream's response head (or to the failure), ms. */
  latencyMs: number;
  /**
   * `error`: the upstream answered 5xx or failed; `timeout`: it did not answer in time;
   * `ignore`: the request says nothing about the upstream (the client left, no agent...).
   */
  outcome: SampleOutcome;
}

/** A sample as an algorithm sees it: with the in-flight count and limit epoch at acquire time. */
export interface AlgorithmSample extends Sample {
  inFlight: number;
  epoch: number;
}

/** The part of a limiter that learns the limit; the limiter around it counts permits. */
export interface LimitAlgorithm {
  readonly min: number;
  readonly limit: number;
  /** Bumped on every change of the limit, so a sample can tell whether it saw the current one. */
  readonly epoch: number;
  /** The limit at which errors began, while growth is held just below it (undefined otherwise). */
  readonly cliff?: number | undefined;
  onSample(sample: AlgorithmSample): void;
}

interface Bounds {
  /** Lowest limit; >= 1. Default 1. */
  min?: number;
  /** Highest limit; >= min. Default 1000. */
  max?: number;
  /** Starting limit, within [min, max]. Default 10 (clamped). */
  initial?: number;
}

interface CliffOptions {
  /**
   * After an error drop at limit L, growth stops at L - 1 and steps up to L again only once per
   * this many ms (a probe that costs at most one round trip at L); 0 probes every round trip.
   * Default 3000.
   */
  cliffProbeMs?: number;
  /** Clock in ms, for `cliffProbeMs`. Default Date.now. */
  now?: () => number;
}

export interface AimdOptions extends Bounds, CliffOptions {
  mode: 'aimd';
  /** Multiplier applied on a drop (5xx, timeout, slow answer); 0.5-0.99. Default 0.9. */
  backoffRatio?: number;
  /** A success slower than this counts as a drop, ms. Default: none (only 5xx and timeouts). */
  latencyThresholdMs?: number;
}

export interface GradientOptions extends Bounds, CliffOptions {
  mode: 'gradient';
  /** Multiplier applied when a window saw 5xx or timeouts; 0.5-0.99. Default 0.9. */
  backoffRatio?: number;
  /** Latency may exceed the baseline by this factor before the limit shrinks; 1-2. Default 1. */
  tolerance?: number;
  /** Weight of a new estimate in the limit, (0, 1]. Default 0.2. */
  smoothing?: number;
  /** Fewest samples in a window; a window also needs about `limit` samples. Default 10. */
  minWindowSamples?: number;
  /** Windows between probes of the no-load latency, before jitter. Default 50. */
  probeIntervalWindows?: number;
  /** Share of the limit kept while probing, (0, 1). Default 0.5. */
  probeRatio?: number;
  /** Randomness in [0, 1) for the probe jitter. Default Math.random. */
  random?: () => number;
}

export interface FixedOptions {
  mode: 'fixed';
  limit: number;
}

export type LimiterOptions = AimdOptions | GradientOptions | FixedOptions;
