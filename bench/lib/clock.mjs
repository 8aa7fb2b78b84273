// A wall clock with sub-millisecond resolution that agrees across processes on one machine:
// timeOrigin is wall time at process start, performance.now() is monotonic from there. Used to
// compare an upstream's timestamps with a client's in another process (SSE delay, wake-up gaps).
export function nowMs() {
  return performance.timeOrigin + performance.now();
}
