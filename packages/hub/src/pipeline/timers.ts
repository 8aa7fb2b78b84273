/** Timers the hub, the dispatcher and the policies use; injected so tests can drive them. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

export const GLOBAL_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** The global timers, unref'd: housekeeping (ticks, ejection windows, queue deadlines) never keeps the process up. */
export const UNREF_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
