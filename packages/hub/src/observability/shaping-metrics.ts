import { Counter } from 'prom-client';
import type { ShapingGroupStats } from '../shaping/shaper.js';
import { ANY_SCOPE } from './labels.js';
import type { MetricFactory } from './metric-factory.js';

export type ShapingStatsSource = () => readonly ShapingGroupStats[];

/**
 * The shaper names the default group `*` and per-agent instances `scope/agent`; as labels they
 * read `_any` (as agents without a scope do) and `scope:agent`.
 */
export function shapingGroupLabel(group: string): string {
  return group.replace(/^\*/, ANY_SCOPE).replaceAll('/', ':');
}

interface GroupMetric {
  name: string;
  help: string;
  /** The group's figure; undefined leaves the group out of the scrape. */
  value: (s: ShapingGroupStats) => number | undefined;
}

const GAUGES: readonly GroupMetric[] = [
  { name: 'slime_shaping_limit', help: 'Current concurrency limit per agent group', value: (s) => s.limit },
  {
    name: 'slime_shaping_in_flight',
    help: 'Requests in flight per shaped agent group',
    value: (s) => s.inFlight,
  },
  {
    name: 'slime_shaping_paced',
    help: '1 while the group is in paced mode (upstream 5xx)',
    value: (s) => (s.paced ? 1 : 0),
  },
  {
    name: 'slime_shaping_spacing_seconds',
    help: 'Current spacing between dispatches of a paced group',
    value: (s) => (s.paced ? s.spacingMs / 1000 : 0),
  },
  {
    name: 'slime_shaping_signal_factor',
    help: 'Factor the Prometheus signal applies to the limit (1 = none)',
    value: (s) => (s.mode === 'none' ? undefined : s.signalFactor),
  },
  {
    name: 'slime_shaping_cliff_limit',
    help: 'Limit at which upstream errors began; growth waits just below it between probes',
    value: (s) => s.cliffLimit,
  },
  {
    name: 'slime_shaping_hold_seconds',
    help: 'Time left of the pause the upstream asked for (Retry-After on a 429/503)',
    value: (s) => (s.heldMs ?? 0) / 1000,
  },
];

// Counted by the shaper and read at scrape time like the gauges: a replaced shaping section starts at 0.
const COUNTERS: readonly GroupMetric[] = [
  {
    name: 'slime_shaping_retry_after_total',
    help: 'Upstream 429/503 answers whose Retry-After held the group',
    value: (s) => s.retryAfterHolds ?? 0,
  },
  {
    name: 'slime_shaping_throttle_retries_total',
    help: 'Requests re-sent after a fast throttle answer (retryThrottled)',
    value: (s) => s.throttleRetries ?? 0,
  },
];

/**
 * Gauges and counters read from the shaper at scrape time: the request path only touches the
 * shaper, and a group that a policy update removed disappears from the next scrape instead of
 * lingering.
 */
export function registerShapingMetrics(
  m: MetricFactory,
  label: (group: string) => string,
  source: () => ShapingStatsSource | undefined,
): void {
  const perGroup = (value: GroupMetric['value'], write: (group: string, v: number) => void) => {
    for (const s of source()?.() ?? []) {
      const v = value(s);
      if (v !== undefined) write(label(shapingGroupLabel(s.group)), v);
    }
  };
  for (const { name, help, value } of GAUGES) {
    m.gauge(name, help, ['group'] as const, function collect() {
      this.reset();
      perGroup(value, (group, v) => this.set({ group }, v));
    });
  }
  for (const { name, help, value } of COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['group'] as const,
      registers: [m.registry],
      collect() {
        this.reset();
        perGroup(value, (group, v) => {
          if (v > 0) this.inc({ group }, v);
        });
      },
    });
  }
}
