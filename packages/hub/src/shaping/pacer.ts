import { checkFunction, optNumber } from './check-options.js';

/** The pacer's tunables, as the policy file's `pacing` gives them. */
export interface PacerSettings {
  /** Sliding window the 5xx share is measured over, ms. Default 20000. */
  windowMs?: number;
  /** 5xx share of the window that turns pacing on, (0, 1]. Default 0.1. */
  errorThreshold?: number;
  /** Fewest answers in the window before the share means anything. Default 20. */
  minSamples?: number;
  /** Spacing between dispatches when pacing starts, ms. Default 50. */
  minSpacingMs?: number;
  /** Largest spacing, ms (>= minSpacingMs). Default 2000. */
  maxSpacingMs?: number;
  /** Spacing multiplier per step while errors continue, and divisor per quiet step; > 1. Default 2. */
  growFactor?: number;
  /** How often the spacing is adjusted, ms. Default 1000. */
  stepMs?: number;
  /** No 5xx for this long ends pacing, ms (>= stepMs). Default 10000. */
  quietPeriodMs?: number;
}

export interface PacerOptions extends PacerSettings {
  /** Clock in ms. */
  now: () => number;
}

export type PacerState = 'normal' | 'paced';

export interface Pacer {
  readonly state: PacerState;
  /** Current spacing, ms; 0 when not pacing. */
  readonly spacingMs: number;
  /** Share of 5xx in the window and its size, for stats. */
  readonly window: { total: number; errors: number };
  /** Records an upstream answer's status (>= 500 counts as an error). */
  record(status: number, now?: number): void;
  /** Reserves the next dispatch slot: ms to wait before dispatching (0 when not pacing). */
  reserve(now?: number): number;
  /** When the next dispatch may go without waiting (`now` when not pacing); reserves nothing. */
  readyAt(now?: number): number;
}

// The window is kept as a ring of buckets so memory stays constant at any request rate.
const BUCKETS = 20;

/**
 * shaperest's "switch into shaping mode when the upstream starts returning 500s": when the 5xx
 * share of the last `windowMs` passes `errorThreshold`, dispatches to the group are spaced at
 * least `minSpacingMs` apart. Each `stepMs` with 5xx the spacing grows by `growFactor` (up to
 * `maxSpacingMs`); each step without it shrinks by the same factor (down to `minSpacingMs`);
 * after `quietPeriodMs` without any, pacing ends and the window starts afresh, so the errors that
 * started it cannot start it again.
 */
export function createPacer(options: PacerOptions): Pacer {
  const now = checkFunction<() => number>('now', options.now);
  const windowMs = optNumber('windowMs', options.windowMs, 20_000, { min: BUCKETS, integer: true });
  const threshold = optNumber('errorThreshold', options.errorThreshold, 0.1, {
    min: 0,
    max: 1,
    exclusiveMin: true,
  });
  const minSamples = optNumber('minSamples', options.minSamples, 20, { min: 1, integer: true });
  const minSpacing = optNumber('minSpacingMs', options.minSpacingMs, 50, { min: 0, exclusiveMin: true });
  const maxSpacing = optNumber('maxSpacingMs', options.maxSpacingMs, Math.max(2000, minSpacing), {
    min: minSpacing,
  });
  const growFactor = optNumber('growFactor', options.growFactor, 2, { min: 1, exclusiveMin: true });
  const stepMs = optNumber('stepMs', options.stepMs, 1000, { min: 1 });
  const quietMs = optNumber('quietPeriodMs', options.quietPeriodMs, 10_000, { min: stepMs });

  const bucketMs = windowMs / BUCKETS;
  const totals = new Array<number>(BUCKETS).fill(0);
  const errs = new Array<number>(BUCKETS).fill(0);
  let bucketStart = now();
  let head = 0;
  let total = 0;
  let errors = 0;

  let state: PacerState = 'normal';
  let spacing = 0;
  let lastErrorAt = Number.NEGATIVE_INFINITY;
  let stepStart = 0;
  let errorsThisStep = 0;
  let nextSlot = 0;

  function rotate(t: number): void {
    const steps = Math.min(BUCKETS, Math.floor((t - bucketStart) / bucketMs));
    if (steps <= 0) return;
    for (let i = 0; i < steps; i++) {
      head = (head + 1) % BUCKETS;
      total -= totals[head]!;
      errors -= errs[head]!;
      totals[head] = errs[head] = 0;
    }
    bucketStart += Math.floor((t - bucketStart) / bucketMs) * bucketMs;
  }

  function clearWindow(t: number): void {
    totals.fill(0);
    errs.fill(0);
    total = errors = 0;
    bucketStart = t;
  }

  /** Applies the steps that elapsed by `t`: grow or relax per step, leave after the quiet period. */
  function advance(t: number): void {
    rotate(t);
    if (state !== 'paced') return;
    if (t - lastErrorAt >= quietMs) {
      state = 'normal';
      spacing = 0;
      clearWindow(t);
      return;
    }
    while (t - stepStart >= stepMs) {
      const errorsPersist = errorsThisStep > 0 && errors >= threshold * total;
      spacing = errorsPersist
        ? Math.min(maxSpacing, spacing * growFactor)
        : errorsThisStep > 0
          ? spacing
          : Math.max(minSpacing, spacing / growFactor);
      errorsThisStep = 0;
      stepStart += stepMs;
    }
  }

  return {
    get state() {
      advance(now());
      return state;
    },
    get spacingMs() {
      advance(now());
      return spacing;
    },
    get window() {
      advance(now());
      return { total, errors };
    },
    record(status, t = now()) {
      advance(t);
      const isError = status >= 500;
      totals[head]!++;
      total++;
      if (!isError) return;
      errs[head]!++;
      errors++;
      lastErrorAt = t;
      if (state === 'paced') {
        errorsThisStep++;
      } else if (total >= minSamples && errors > threshold * total) {
        state = 'paced';
        spacing = minSpacing;
        stepStart = t;
        errorsThisStep = 0;
      }
    },
    readyAt(t = now()) {
      advance(t);
      return state === 'paced' ? Math.max(t, nextSlot) : t;
    },
    reserve(t = now()) {
      advance(t);
      if (state !== 'paced') return 0;
      const slot = Math.max(t, nextSlot);
      nextSlot = slot + spacing;
      return slot - t;
    },
  };
}
