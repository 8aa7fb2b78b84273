import type { PacerSettings } from './pacer.js';
import type { PromQuery } from './prom-signal.js';

/** The `shaping` section of the policy file, after validation. Durations are in ms. */
export interface ShapingConfig {
  groups: ShapingGroupConfig[];
}

export interface ShapingGroupConfig {
  /** Which requests the group covers; no `scope` = every request no other group matched. */
  match: { scope?: string };
  /** One limiter/pacer for the whole group, or one per agent in it. Default 'group'. */
  per: 'group' | 'agent';
  /** Retry-After, seconds, on a 503 when the group is at its limit. Default 1. */
  retryAfterSeconds: number;
  limiter?: LimiterConfig;
  pacing?: PacingConfig;
  jitter?: JitterConfig;
  signal?: SignalConfig;
  /** Re-queue `Slime-Block` requests whose answer was a fast throttle. Default: off. */
  retryThrottled?: RetryThrottledConfig;
  /**
   * An upstream 429/503 with Retry-After holds the group's dispatches for that long, at most
   * `maxMs`; `false` ignores Retry-After. Default `{ maxMs: 10000 }`.
   */
  upstreamRetryAfter?: { maxMs: number } | false;
}

export interface RetryThrottledConfig {
  /** Statuses that are throttle answers when they come back fast. Default [429, 500, 503]. */
  on: number[];
  /** Re-sends per request at most (integer 1-10). Default 2. */
  attempts: number;
  /** Share of the group's typical success latency under which an answer is fast; (0, 1]. Default 0.5. */
  fastRatio?: number;
  /** Cap on the learned bound, ms; also the bound before it is learned. Default none. */
  maxLatencyMs?: number;
  /** Re-send non-idempotent methods (POST, PATCH) too, if they have no body. Default false. */
  nonIdempotent: boolean;
}

export interface LimiterConfig {
  mode: 'aimd' | 'gradient' | 'fixed';
  min?: number;
  max?: number;
  initial?: number;
  limit?: number;
  backoffRatio?: number;
  latencyThresholdMs?: number;
  tolerance?: number;
  smoothing?: number;
  minWindowSamples?: number;
  probeIntervalWindows?: number;
  probeRatio?: number;
  cliffProbeMs?: number;
}

export interface PacingConfig extends PacerSettings {
  /** `X-Request-Criticality: CRITICAL_PLUS` skips pacing. Default false. */
  bypassCriticalPlus?: boolean;
}

export interface JitterConfig {
  maxDelayMs: number;
  maxCanWaitMs?: number;
}

export interface SignalConfig {
  url: string;
  queries: PromQuery[];
  intervalMs?: number;
  timeoutMs?: number;
  minFactor?: number;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };
