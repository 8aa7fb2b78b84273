import type { Algorithm } from './types.js';

/** One counter a request is checked against. */
export interface LimitSpec {
  /** Counter identity: the rule's definition hash plus the key value; equal ids share a counter. */
  readonly id: string;
  readonly algorithm: Algorithm;
  /** Units per window (token bucket: refill per window). */
  readonly limit: number;
  readonly windowMs: number;
  /** Token-bucket capacity. */
  readonly burst: number;
  /** Units this request needs now (1 for a request; known request bytes for a byte limit). */
  readonly cost: number;
}

export interface LimitState {
  /** Whether this limit alone would admit the request. */
  readonly allowed: boolean;
  /** Units left after this request (or before it, when denied); never negative. */
  readonly remaining: number;
  /** Ms until the quota is fully available again (fixed: window end; sliding: bucket roll). */
  readonly resetMs: number;
  /** Ms until a request of this cost would pass; 0 when allowed. Infinity when it never can. */
  readonly retryAfterMs: number;
}

export interface CheckResult {
  /** True only when every limit allowed; then, and only then, all were charged. */
  readonly admitted: boolean;
  /** One per limit, in the order given. */
  readonly limits: readonly LimitState[];
}

/**
 * Where counters live. The policy calls `checkAndCharge` once per request with all the limits
 * that request matched; the store decides all of them together and charges all or none. A Redis
 * store does this in one Lua script (EVALSHA with every key and its parameters), with a timeout
 * after which it answers per its fail-open/fail-closed setting.
 */
export interface CounterStore {
  checkAndCharge(limits: readonly LimitSpec[], now: number): Promise<CheckResult>;
  /** Adds usage without checking (response bytes as they flow); may push a counter past its limit. */
  charge(limits: readonly LimitSpec[], amount: number, now: number): Promise<void>;
  /** Forgets counters whose id does not start with one of these rule hashes (rules that changed). */
  retainRules(ruleHashes: ReadonlySet<string>): Promise<void>;
  close(): Promise<void>;
}

/** Separates the rule hash from the key value inside a counter id. */
export const ID_SEPARATOR = '\u0000';
