import { Counter, Gauge, type Registry } from 'prom-client';
import type { ShapingGroupStats } from '../shaping/shaper.js';
import { ANY_SCOPE } from './labels.js';

export type ShapingStatsSource = () => readonly ShapingGroupStats[];

/**
 * The shaper names the default group `*` and per-agent instances `scope/agent`; as labels they
 * read `_any` (as agents without a scope do) and `scope:agent`.
 */
export function shapingGroupLabel(group: string): string {
  return group.replace(/^\*/, ANY_SCOPE).replaceAll('/', ':');
}

/**
 * Gauges read from the shaper at scrape time: the request path only touches the shaper, and a
 * group that a policy update removed disappears from the next scrape instead of lingering.
 */
export function registerShapingGauges(
  registers: Registry[],
  label: (group: string) => string,
  source: () => ShapingStatsSource | undefined,
): void {
  const gauge = (name: string, help: string, value: (s: ShapingGroupStats) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['group'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of source()?.() ?? []) {
          const v = value(s);
          if (v !== undefined) this.set({ group: label(shapingGroupLabel(s.group)) }, v);
        }
      },
    });
  gauge('slime_shaping_limit', 'Current concurrency limit per agent group', (s) => s.limit);
  gauge('slime_shaping_in_flight', 'Requests in flight per shaped agent group', (s) => s.inFlight);
  gauge('slime_shaping_paced', '1 while the group is in paced mode (upstream 5xx)', (s) => (s.paced ? 1 : 0));
  gauge('slime_shaping_spacing_seconds', 'Current spacing between dispatches of a paced group', (s) =>
    s.paced ? s.spacingMs / 1000 : 0,
  );
  gauge('slime_shaping_signal_factor', 'Factor the Prometheus signal applies to the limit (1 = none)', (s) =>
    s.mode === 'none' ? undefined : s.signalFactor,
  );
  gauge(
    'slime_shaping_cliff_limit',
    'Limit at which upstream errors began; growth waits just below it between probes',
    (s) => s.cliffLimit,
  );
  gauge(
    'slime_shaping_hold_seconds',
    'Time left of the pause the upstream asked for (Retry-After on a 429/503)',
    (s) => (s.heldMs ?? 0) / 1000,
  );
  // Read from the shaper at scrape time like the gauges: a replaced shaping section starts at 0.
  const counter = (name: string, help: string, value: (s: ShapingGroupStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['group'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of source()?.() ?? []) {
          const v = value(s);
          if (v > 0) this.inc({ group: label(shapingGroupLabel(s.group)) }, v);
        }
      },
    });
  counter(
    'slime_shaping_retry_after_total',
    'Upstream 429/503 answers whose Retry-After held the group',
    (s) => s.retryAfterHolds ?? 0,
  );
  counter(
    'slime_shaping_throttle_retries_total',
    'Requests re-sent after a fast throttle answer (retryThrottled)',
    (s) => s.throttleRetries ?? 0,
  );
}
