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
}

export interface PacingConfig {
  windowMs?: number;
  errorThreshold?: number;
  minSamples?: number;
  minSpacingMs?: number;
  maxSpacingMs?: number;
  growFactor?: number;
  stepMs?: number;
  quietPeriodMs?: number;
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
