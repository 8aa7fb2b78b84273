// Waits for a burst's aftermath to end before the next burst. A burst of SSE streams ends at the
// client as soon as every stream has its first event, but the proxies go on cancelling upstream
// calls, closing sockets and (undici) reconnecting for hundreds of milliseconds more; a burst on
// another path that starts meanwhile shares the cores with that teardown. Alternating paths, each
// would then pay for the one before it, and not alike: the lean floor's teardown is lighter than
// hub+agent's, so the path after it started on a quieter machine.
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMsOf } from './proc-stats.mjs';

/**
 * Resolves once the upstream holds no SSE stream open and then `pids` together used at most one
 * clock tick (10 ms) of CPU in a `windowMs` window; gives up after `maxMs` (and resolves anyway:
 * the burst after it is still measured, only on a busier machine).
 */
export async function settleAfterBurst(upstream, pids, { windowMs = 100, maxMs = 5_000 } = {}) {
  const until = Date.now() + maxMs;
  while (Date.now() < until && (await upstream.call('sseOpen')) > 0) await sleep(20);
  let before = cpuMsOf(pids);
  while (Date.now() < until) {
    await sleep(windowMs);
    const now = cpuMsOf(pids);
    if (now - before <= 10) return;
    before = now;
  }
}
