/**
 * Capped exponential backoff with full jitter (AWS architecture blog): the delay is uniform in
 * [0, min(cap, base * 2^attempt)), so a fleet of agents reconnecting after a hub restart spreads
 * out instead of arriving in waves.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
