import { Gauge, type Registry } from 'prom-client';
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
}
