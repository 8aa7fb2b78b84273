/**
 * What a heartbeat tick does: drop an agent silent for longer than the timeout, ping once per
 * interval. The hub ticks more often than it pings (see `heartbeatTickMs`), so a frozen agent is
 * dropped within timeout + one tick instead of timeout + one ping interval.
 */
export function heartbeatDue(
  now: number,
  lastSeen: number,
  lastPing: number,
  opts: { heartbeatMs: number; heartbeatTimeoutMs: number },
): 'drop' | 'ping' | 'none' {
  if (now - lastSeen > opts.heartbeatTimeoutMs) return 'drop';
  return now - lastPing >= opts.heartbeatMs ? 'ping' : 'none';
}

/** How often the hub checks its agents: a tenth of the timeout, at most the ping interval. */
export function heartbeatTickMs(heartbeatMs: number, heartbeatTimeoutMs: number): number {
  return Math.max(50, Math.min(heartbeatMs, Math.floor(heartbeatTimeoutMs / 10)));
}
