// Main-thread GC pauses of this process, by kind: scavenges (minor) and mark-compacts (major),
// count and ms. Incremental marking steps and weak-callback passes are left out: they are slices
// of a mark-compact already counted, or not collections at all.
import { constants, PerformanceObserver } from 'node:perf_hooks';

const zero = () => ({ minor: 0, minorMs: 0, major: 0, majorMs: 0 });

/** Starts counting. `take()` returns the totals since the last take (or the start) and resets them. */
export function countGc() {
  let totals = zero();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind;
      const key =
        kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? 'minor'
          : kind === constants.NODE_PERFORMANCE_GC_MAJOR
            ? 'major'
            : null;
      if (key === null) continue;
      totals[key]++;
      totals[`${key}Ms`] += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    take() {
      const out = totals;
      totals = zero();
      return out;
    },
    stop: () => observer.disconnect(),
  };
}
