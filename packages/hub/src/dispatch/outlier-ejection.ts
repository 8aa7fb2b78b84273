/**
 * Passive outlier ejection, Envoy's model: an agent whose recent answers are consecutive failures
 * is taken out of dispatch for a while, longer each time it is ejected again, but never so many
 * agents of a group that the rest would be flooded.
 */

export interface OutlierOptions {
  /** Consecutive connect failures (the agent could not reach its upstream) that eject. 0 = off. Default 3. */
  consecutiveConnectErrors?: number;
  /** Consecutive 5xx answers or gateway errors (502/504 from the hub) that eject. 0 = off (default). */
  consecutive5xx?: number;
  /** First ejection lasts this long; the n-th lasts n times as long. Default 30 s. */
  baseEjectionMs?: number;
  /** No ejection lasts longer. Default 300 s. */
  maxEjectionMs?: number;
  /** At most this share of a group's agents is ejected at once, in percent. Default 50. */
  maxEjectionPercent?: number;
}

export interface OutlierDeps {
  now: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (timer: unknown) => void;
  /** An ejection ended: the agent may be dispatched to again. */
  onReturn?: (agentId: string) => void;
  onEject?: (agentId: string, untilMs: number, reason: string) => void;
}

/** How one answer from an agent counts. */
export type AgentOutcome = 'ok' | 'connect-error' | '5xx';

interface Tracked {
  group: string;
  connectErrors: number;
  fives: number;
  /** How many times it was ejected (ejection length grows with it). */
  ejections: number;
  ejectedUntil: number;
  timer: unknown;
}

export interface OutlierSnapshot {
  ejected: boolean;
  ejectedUntil: number | null;
  ejections: number;
}

export interface OutlierDetector {
  /** An agent joined `group` (agents that serve the same scopes). */
  track(agentId: string, group: string): void;
  forget(agentId: string): void;
  record(agentId: string, outcome: AgentOutcome): void;
  isEjected(agentId: string): boolean;
  snapshot(agentId: string): OutlierSnapshot;
  /** Agents ejected right now. */
  readonly ejectedCount: number;
  close(): void;
}

function checkCount(
  name: string,
  v: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new RangeError(`${name} must be an integer in 0..${max}`);
  return v;
}

export function createOutlierDetector(options: OutlierOptions, deps: OutlierDeps): OutlierDetector {
  const connectLimit = checkCount('consecutiveConnectErrors', options.consecutiveConnectErrors, 3);
  const fiveLimit = checkCount('consecutive5xx', options.consecutive5xx, 0);
  const baseMs = checkCount('baseEjectionMs', options.baseEjectionMs, 30_000);
  const maxMs = checkCount('maxEjectionMs', options.maxEjectionMs, 300_000);
  const maxPercent = checkCount('maxEjectionPercent', options.maxEjectionPercent, 50, 100);
  const agents = new Map<string, Tracked>();
  // An agent never ejected needs no clock read: this runs for every agent a request may pick.
  const ejected = (a: Tracked): boolean => a.ejectedUntil !== 0 && a.ejectedUntil > deps.now();

  const ejectedIn = (group: string): number => {
    let n = 0;
    const t = deps.now();
    for (const a of agents.values()) if (a.group === group && a.ejectedUntil > t) n++;
    return n;
  };
  const sizeOf = (group: string): number => {
    let n = 0;
    for (const a of agents.values()) if (a.group === group) n++;
    return n;
  };

  function eject(agentId: string, a: Tracked, reason: string): void {
    // Never take the group below (100 - maxPercent)% of its agents; at least one may always go
    // when the group has more than one, so a dead agent beside a healthy one is ejected.
    const allowed = Math.max(sizeOf(a.group) > 1 ? 1 : 0, Math.floor((sizeOf(a.group) * maxPercent) / 100));
    if (ejectedIn(a.group) >= allowed) return;
    a.ejections++;
    const ms = Math.min(maxMs, baseMs * a.ejections);
    a.ejectedUntil = deps.now() + ms;
    a.connectErrors = 0;
    a.fives = 0;
    a.timer = deps.setTimer(() => {
      a.timer = undefined;
      deps.onReturn?.(agentId);
    }, ms);
    deps.onEject?.(agentId, a.ejectedUntil, reason);
  }

  return {
    track(agentId, group) {
      if (!agents.has(agentId)) {
        agents.set(agentId, {
          group,
          connectErrors: 0,
          fives: 0,
          ejections: 0,
          ejectedUntil: 0,
          timer: undefined,
        });
      }
    },
    forget(agentId) {
      const a = agents.get(agentId);
      if (a?.timer !== undefined) deps.clearTimer(a.timer);
      agents.delete(agentId);
    },
    record(agentId, outcome) {
      const a = agents.get(agentId);
      if (!a || ejected(a)) return;
      if (outcome === 'ok') {
        a.connectErrors = 0;
        a.fives = 0;
        return;
      }
      // The upstream answered a 5xx: it is reachable. A connect error is a gateway error too, so it
      // counts toward the 5xx rule as well.
      if (outcome === 'connect-error') a.connectErrors++;
      else a.connectErrors = 0;
      a.fives++;
      if (connectLimit > 0 && a.connectErrors >= connectLimit) {
        eject(agentId, a, `${a.connectErrors} consecutive connect errors`);
      } else if (fiveLimit > 0 && a.fives >= fiveLimit) {
        eject(agentId, a, `${a.fives} consecutive 5xx or gateway errors`);
      }
    },
    isEjected(agentId) {
      const a = agents.get(agentId);
      return a !== undefined && ejected(a);
    },
    snapshot(agentId) {
      const a = agents.get(agentId);
      const ejected = a !== undefined && a.ejectedUntil > deps.now();
      return { ejected, ejectedUntil: ejected ? a.ejectedUntil : null, ejections: a?.ejections ?? 0 };
    },
    get ejectedCount() {
      const t = deps.now();
      let n = 0;
      for (const a of agents.values()) if (a.ejectedUntil > t) n++;
      return n;
    },
    close() {
      for (const a of agents.values()) if (a.timer !== undefined) deps.clearTimer(a.timer);
      agents.clear();
    },
  };
}
