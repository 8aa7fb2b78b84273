import type { HubConfig } from '@slime/hub';
import { startHub, type TestHub } from '../../../../test/helpers/harness.js';
import type { HubMetrics, HubMetricsOptions } from '../../src/observability/index.js';
import { parseExposition, type Sample } from './exposition.js';

export interface ObservedHub extends TestHub {
  metrics: HubMetrics;
  scrape(): Promise<Sample[]>;
}

/** A real hub on 127.0.0.1:0 and its own metrics. */
export async function startObservedHub(
  options: Partial<HubConfig> = {},
  metricsOptions: HubMetricsOptions = { defaultMetrics: false },
): Promise<ObservedHub> {
  const test = await startHub({ ...options, metrics: metricsOptions });
  const { metrics } = test.hub;
  return { ...test, metrics, scrape: async () => parseExposition(await metrics.metrics()) };
}
