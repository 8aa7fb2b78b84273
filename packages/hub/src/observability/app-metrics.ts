import type { Gauge, Registry } from 'prom-client';
import type { RequestObserver } from '../pipeline/policies/access-log.js';
import type { HubLike } from './hub-metrics.js';
import { boundedLabel, statusClass } from './labels.js';
import { createMetricFactory } from './metric-factory.js';

/**
 * Per-application series. App names come from the policy (at most 1000, validated identifiers)
 * or are `default`; the label is still bounded, so a hostile policy cannot explode the series.
 */
export function registerAppMetrics(
  registry: Registry,
  hub: () => HubLike | null | undefined,
  maxLabelValues: number,
): RequestObserver {
  const m = createMetricFactory(registry);
  const appLabel = boundedLabel(maxLabelValues);
  const { requests } = m.counters({
    requests: {
      name: 'slime_app_requests_total',
      help: 'Application requests by application and status class',
      labelNames: ['app', 'status_class'],
    },
  });
  // One snapshot fills both gauges, like the agent gauges.
  const fill = (inFlight: Gauge<'app'>, queued: Gauge<'app'>) => {
    inFlight.reset();
    queued.reset();
    for (const s of hub()?.appStats?.() ?? []) {
      const app = appLabel(s.app);
      inFlight.inc({ app }, s.inFlight);
      queued.inc({ app }, s.queued);
    }
  };
  const collect = () => fill(inFlight, queued);
  const inFlight: Gauge<'app'> = m.gauge(
    'slime_app_in_flight_requests',
    'Requests of each application dispatched to an agent and not finished',
    ['app'] as const,
    collect,
  );
  const queued: Gauge<'app'> = m.gauge(
    'slime_app_queued_requests',
    'Requests of each application waiting for an agent',
    ['app'] as const,
    collect,
  );
  return (e) => {
    if (e.app !== undefined) requests.inc({ app: appLabel(e.app), status_class: statusClass(e.status) });
  };
}
