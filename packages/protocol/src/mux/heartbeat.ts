/** The heartbeat settings of one endpoint. */
export interface HeartbeatTiming {
  /** Ping at most this often (0: at every check). */
  heartbeatMs: number;
  /** Drop a peer silent (no message, ping or pong) for longer than this. */
  heartbeatTimeoutMs: number;
}

/**
 * What a heartbeat check does: drop a peer silent for longer than the timeout, ping once per
 * interval. The hub checks more often than it pings (see `heartbeatTickMs`), so a frozen agent is
 * dropped within timeout + one check instead of timeout + one ping interval.
 */
export function heartbeatDue(
  now: number,
  lastSeen: number,
  lastPing: number,
  timing: HeartbeatTiming,
): 'drop' | 'ping' | 'none' {
  if (now - lastSeen > timing.heartbeatTimeoutMs) return 'drop';
  return now - lastPing >= timing.heartbeatMs ? 'ping' : 'none';
}
