/**
 * Resolves after `ms` on the given timers, or at once when `signal` aborts (never rejects: the
 * caller checks `signal.aborted` and decides what an abort means). Shaping's pacing and jitter
 * both wait this way.
 */
export function abortableSleep(
  ms: number,
  signal: AbortSignal,
  arm: (fn: () => void, ms: number) => unknown,
  disarm: (handle: unknown) => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      disarm(handle);
      resolve();
    };
    const handle = arm(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
