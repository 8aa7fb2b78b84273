export { parseCanWait } from './can-wait.js';
export { type ConcurrencyLimiter, createConcurrencyLimiter, type Permit } from './concurrency-limiter.js';
export { createJitterPolicy, type JitterOptions } from './jitter-policy.js';
export type {
  AimdOptions,
  FixedOptions,
  GradientOptions,
  LimiterOptions,
  Sample,
  SampleOutcome,
} from './limiter-types.js';
export { createPacer, type Pacer, type PacerOptions, type PacerState } from './pacer.js';
export {
  createPromSignal,
  type PromQuery,
  type PromSignal,
  type PromSignalOptions,
  type PromSignalStats,
} from './prom-signal.js';
export {
  type Admission,
  type AdmissionRequest,
  createShaper,
  type Shaper,
  type ShaperDeps,
  type ShapingGroupStats,
  type ShapingKey,
  type ShapingPermit,
  type ShapingResult,
} from './shaper.js';
export type {
  JitterConfig,
  LimiterConfig,
  PacingConfig,
  RetryThrottledConfig,
  ShapingConfig,
  ShapingGroupConfig,
  SignalConfig,
  ValidationResult,
} from './shaping-config.js';
export { createShapingPolicy, type ShapingPolicyDeps } from './shaping-policy.js';
export { type CompiledShaping, createShapingSection, type ShapingSectionDeps } from './shaping-section.js';
export { validateShapingConfig } from './validate-shaping-config.js';
