export { type ConcurrencyLimiter, createConcurrencyLimiter, type Permit } from './concurrency-limiter.js';
export type {
  AimdOptions,
  FixedOptions,
  GradientOptions,
  LimiterOptions,
  Sample,
  SampleOutcome,
} from './limiter-types.js';
