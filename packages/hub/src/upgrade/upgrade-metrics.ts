import type { Registry } from 'prom-client';
import { createMetricFactory } from '../observability/metric-factory.js';
import type { UpgradeObserver } from './upgrade-types.js';

/**
 * Metrics of client upgrades (WebSockets carried to upstreams), in the hub's registry:
 *
 * - `slime_upgraded_streams_open`: upgraded streams (tunnels) open now.
 * - `slime_upgrades_total{outcome}`: upgrade requests answered by an upstream, `switched` (101) or
 *   `not_switched` (the upstream refused, or the request failed before an answer). Refusals by the
 *   hub itself (501, 503, 429...) are in `slime_requests_total` by their code, like every request.
 * - `slime_upgraded_streams_closed_total{how}`: how tunnels ended: `normal` (both sides closed),
 *   `client_reset`, `agent_reset` (the upstream's socket failed), `agent_lost`.
 * - `slime_upgraded_stream_bytes_total{direction}`: bytes passed through, `to_upstream`/`to_client`.
 */
export function createUpgradeMetrics(registry: Registry): UpgradeObserver {
  const m = createMetricFactory(registry);
  const open = m.gauge('slime_upgraded_streams_open', 'Upgraded streams (client WebSockets) open now');
  const { answered, closed, bytes } = m.counters({
    answered: {
      name: 'slime_upgrades_total',
      help: 'Upgrade requests an agent answered: switched (101) or not_switched',
      labelNames: ['outcome'],
    },
    closed: {
      name: 'slime_upgraded_streams_closed_total',
      help: 'Upgraded streams that ended, by how: normal, client_reset, agent_reset, agent_lost',
      labelNames: ['how'],
    },
    bytes: {
      name: 'slime_upgraded_stream_bytes_total',
      help: 'Bytes carried on upgraded streams, by direction',
      labelNames: ['direction'],
    },
  });
  return {
    upgraded(outcome) {
      answered.inc({ outcome: outcome === 'switched' ? 'switched' : 'not_switched' });
      if (outcome === 'switched') open.inc();
    },
    closed(how) {
      open.dec();
      closed.inc({ how: how.replace('-', '_') });
    },
    bytes(direction, n) {
      bytes.inc({ direction }, n);
    },
  };
}
