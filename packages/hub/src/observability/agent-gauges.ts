import { isGoClaims } from '../go-compat/go-token.js';
import type { HubLike } from './hub-metrics-types.js';
import { ANY_SCOPE } from './labels.js';
import type { MetricFactory } from './metric-factory.js';

/** The gauges read from the hub's agents at scrape time: agents and slots per scope, Go agents. */
export function registerAgentGauges(m: MetricFactory, hub: () => HubLike | null | undefined): void {
  // Both gauges are filled together from one snapshot; each collect() refills both so that either
  // can be read alone (getSingleMetric) and a scope whose last agent left drops out instead of going stale.
  const fillAgentGauges = () => {
    agentsGauge.reset();
    slotsGauge.reset();
    for (const a of hub()?.agents() ?? []) {
      if (a.state === 'closed') continue;
      const used = a.inFlight;
      const free = a.state === 'ready' ? Math.max(0, a.slots - a.inFlight) : 0;
      for (const scope of a.scopes.length > 0 ? a.scopes : [ANY_SCOPE]) {
        agentsGauge.inc({ scope }, 1);
        slotsGauge.inc({ scope, state: 'used' }, used);
        slotsGauge.inc({ scope, state: 'free' }, free);
      }
    }
  };
  const agentsGauge = m.gauge(
    'slime_agents',
    'Connected agents per scope ("_any" = unscoped token); an agent with two scopes counts in both',
    ['scope'] as const,
    fillAgentGauges,
  );
  const slotsGauge = m.gauge(
    'slime_agent_slots',
    'Worker slots of connected agents per scope: used = in flight, free = announced minus used',
    ['scope', 'state'] as const,
    fillAgentGauges,
  );
  m.gauge(
    'slime_go_agents',
    'Agents still on the Go Slime Proxy (--accept-go-tokens): via="long-poll" counts Go agent workers on its protocol, via="go-token" our agents connected with a Go token; remove the flag once both are 0',
    ['via'] as const,
    function collect() {
      let poll = 0;
      let token = 0;
      for (const a of hub()?.agents() ?? []) {
        if (a.state === 'closed') continue;
        if ((a as { protocol?: string }).protocol === 'go') poll++;
        else if (typeof a.jti === 'string' && isGoClaims(a)) token++;
      }
      this.set({ via: 'long-poll' }, poll);
      this.set({ via: 'go-token' }, token);
    },
  );
}
