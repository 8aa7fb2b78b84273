import { Counter, Gauge, type Registry } from 'prom-client';
import type { RequestObserver } from '../pipeline/policies/access-log.js';
import type { HubLike } from './hub-metrics.js';
import { boundedLabel, statusClass } from './labels.js';

/**
 * Per-application series. App names come from the policy (at most 1000, validated identifiers)
 * or are `default`; the label is still bounded, so a hostile policy cannot explode the series.
 */
export function registerAppMetrics(
  registry: Registry,
  hub: () => HubLike | null | undefined,
  maxLabelValues: number,
): RequestObserver {
  const registers = [registry];
  const appLabel = boundedLabel(maxLabelValues);
  const requests = new Counter({
    name: 'slime_app_requests_total',
    help: 'Application requests by application and status class',
    labelNames: ['app', 'status_class'] as const,
    registers,
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
  const inFlight: Gauge<'app'> = new Gauge({
    name: 'slime_app_in_flight_requests',
    help: 'Requests of each application dispatched to an agent and not finished',
    labelNames: ['app'] as const,
    registers,
    collect() {
      fill(inFlight, queued);
    },
  });
  const queued: Gauge<'app'> = new Gauge({
    name: 'slime_app_queued_requests',
    help: 'Requests of each application waiting for an agent',
    labelNames: ['app'] as const,
    registers,
    collect() {
      fill(inFlight, queued);
    },
  });
  return (e) => {
    if (e.app !== undefined) requests.inc({ app: appLabel(e.app), status_class: statusClass(e.status) });
  };
}
