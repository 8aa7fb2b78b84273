import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Counters, gauges and histograms registered in one registry (the hub's own, never the global one). */
export interface MetricFactory {
  readonly registry: Registry;
  counter<T extends string = string>(name: string, help: string, labelNames?: readonly T[]): Counter<T>;
  /** `collect` runs at scrape time, with the gauge as `this`. */
  gauge<T extends string = string>(
    name: string,
    help: string,
    labelNames?: readonly T[],
    collect?: (this: Gauge<T>) => void,
  ): Gauge<T>;
  histogram<T extends string = string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames?: readonly T[],
  ): Histogram<T>;
}

export function createMetricFactory(registry: Registry): MetricFactory {
  const registers = [registry];
  const labels = <T extends string>(labelNames: readonly T[] | undefined) =>
    labelNames === undefined ? {} : { labelNames };
  return {
    registry,
    counter: (name, help, labelNames) => new Counter({ name, help, ...labels(labelNames), registers }),
    gauge: (name, help, labelNames, collect) =>
      new Gauge({ name, help, ...labels(labelNames), registers, ...(collect ? { collect } : {}) }),
    histogram: (name, help, buckets, labelNames) =>
      new Histogram({ name, help, ...labels(labelNames), buckets, registers }),
  };
}
