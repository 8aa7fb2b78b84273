import type { MuxTimers } from '@slime/protocol';

/** Node's timers for a multiplexed endpoint: a pending close timer never keeps the process alive. */
export function nodeTimers(now: () => number): MuxTimers {
  return {
    now,
    schedule: setImmediate,
    setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}
