import type { LimitSpec, LimitState } from './store.js';

/**
 * Counter state, the same three numbers for every algorithm so a store can keep it in one hash:
 * sliding window: t = bucket index, a = this bucket, b = previous bucket;
 * fixed window: t = bucket index, a = this bucket; token bucket: t = last refill (ms), a = tokens.
 */
export interface CounterState {
  t: number;
  a: number;
  b: number;
}

export interface Evaluation extends LimitState {
  /** The state rolled forward to `now`, before charging. */
  readonly state: CounterState;
}

/** A check needs at least one unit free even for a zero-byte request, so an exhausted byte limit denies. */
const needOf = (spec: LimitSpec) => Math.max(1, spec.cost);

function roll(spec: LimitSpec, s: CounterState | undefined, now: number): CounterState {
  if (spec.algorithm === 'token-bucket') {
    if (!s) return { t: now, a: spec.burst, b: 0 };
    const refill = (Math.max(0, now - s.t) * spec.limit) / spec.windowMs;
    return { t: now, a: Math.min(spec.burst, s.a + refill), b: 0 };
  }
  const idx = Math.floor(now / spec.windowMs);
  if (!s || idx - s.t > 1) return { t: idx, a: 0, b: 0 };
  if (idx - s.t === 1) return { t: idx, a: 0, b: spec.algorithm === 'sliding-window' ? s.a : 0 };
  return s; // same bucket (or a clock that stepped back: keep counting where we are)
}

function slidingRetry(spec: LimitSpec, s: CounterState, elapsed: number, need: number): number {
  const w = spec.windowMs;
  if (s.a + need <= spec.limit) {
    // The previous bucket's weight must fall until prev * weight fits beside this bucket.
    const e = w * (1 - (spec.limit - s.a - need) / s.b);
    return Math.max(1, Math.ceil(e - elapsed));
  }
  // This bucket alone is too full: wait for it to become the previous one and decay enough.
  const e = s.a === 0 ? 0 : w * (1 - (spec.limit - need) / s.a);
  return Math.max(1, Math.ceil(w - elapsed + e));
}

/** Decides one limit for one request at `now` without changing anything. */
export function evaluate(spec: LimitSpec, prior: CounterState | undefined, now: number): Evaluation {
  const state = roll(spec, prior, now);
  const need = needOf(spec);
  if (spec.algorithm === 'token-bucket') {
    const allowed = state.a >= need;
    const left = allowed ? state.a - spec.cost : state.a;
    const perMs = spec.limit / spec.windowMs;
    return {
      state,
      allowed,
      remaining: Math.max(0, Math.floor(left)),
      resetMs: Math.ceil(Math.max(0, spec.burst - left) / perMs),
      retryAfterMs: allowed
        ? 0
        : need > spec.burst
          ? Number.POSITIVE_INFINITY
          : Math.ceil((need - state.a) / perMs),
    };
  }
  const elapsed = now - state.t * spec.windowMs;
  const untilRoll = Math.max(1, spec.windowMs - elapsed);
  const used =
    spec.algorithm === 'sliding-window'
      ? state.a + (state.b * (spec.windowMs - elapsed)) / spec.windowMs
      : state.a;
  const allowed = used + need <= spec.limit;
  let retryAfterMs = 0;
  if (!allowed) {
    if (need > spec.limit) retryAfterMs = Number.POSITIVE_INFINITY;
    else if (spec.algorithm === 'fixed-window') retryAfterMs = untilRoll;
    else retryAfterMs = slidingRetry(spec, state, elapsed, need);
  }
  return {
    state,
    allowed,
    remaining: Math.max(0, Math.floor(spec.limit - used - (allowed ? spec.cost : 0))),
    resetMs: allowed ? untilRoll : retryAfterMs,
    retryAfterMs,
  };
}

/** The state after charging `amount` units. */
export function charged(spec: LimitSpec, state: CounterState, amount: number): CounterState {
  return spec.algorithm === 'token-bucket'
    ? { t: state.t, a: state.a - amount, b: 0 }
    : { t: state.t, a: state.a + amount, b: state.b };
}
