import type { HubOptions } from '@slime/hub';
import { startHub, type TestHub } from '../../../../test/helpers/harness.js';
import type { Hub } from '../../src/hub.js';
import { createHubMetrics, type HubMetrics, type HubMetricsOptions } from '../../src/observability/index.js';
import { parseExposition, type Sample } from './exposition.js';

export interface ObservedHub extends TestHub {
  metrics: HubMetrics;
  scrape(): Promise<Sample[]>;
}

/** A real hub on 127.0.0.1:0 with metrics wired the way the CLI wires them. */
export async function startObservedHub(
  options: Partial<HubOptions> = {},
  metricsOptions: HubMetricsOptions = { defaultMetrics: false },
): Promise<ObservedHub> {
  let hub: Hub | undefined;
  const metrics = createHubMetrics(() => hub, metricsOptions);
  const test = await startHub(options, {
    observe: metrics.observe,
    onAgentConnected: metrics.onAgentConnected,
    onAgentClosed: metrics.onAgentClosed,
    onAgentRefused: metrics.agentRefused,
    onWait: metrics.onWait,
  });
  hub = test.hub;
  return { ...test, metrics, scrape: async () => parseExposition(await metrics.metrics()) };
}
