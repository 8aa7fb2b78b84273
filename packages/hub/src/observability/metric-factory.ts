import { Counter, Gauge, type Registry } from 'prom-client';
import { BatchedHistogram } from './batched-histogram.js';

/** What a dashboard sees of a metric: its name, help text and label names. */
export interface MetricDef {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

export interface HistogramDef extends MetricDef {
  readonly buckets: readonly number[];
}

/** The label names a definition declares, as a union; `string` when it declares none. */
type LabelsOf<D> = D extends { readonly labelNames: readonly (infer T extends string)[] } ? T : string;

/** Counters, gauges and histograms registered in one registry (the hub's own, never the global one). */
export interface MetricFactory {
  readonly registry: Registry;
  /**
   * One counter per entry of a table of definitions, under the entry's key. `collect` (by key) runs
   * when a counter is read (a scrape), with the counter as `this`: counts kept elsewhere are added then.
   */
  counters<const D extends Record<string, MetricDef>>(
    defs: D,
    collect?: { [K in keyof D]?: (this: Counter<LabelsOf<D[K]>>) => void },
  ): { [K in keyof D]: Counter<LabelsOf<D[K]>> };
  /** `collect` runs at scrape time, with the gauge as `this`. */
  gauge<T extends string = string>(
    name: string,
    help: string,
    labelNames?: readonly T[],
    collect?: (this: Gauge<T>) => void,
  ): Gauge<T>;
  /**
   * One histogram per entry of a table of definitions, under the entry's key. Per-request paths
   * use `record` (batched until a scrape); `observe` is prom-client's.
   */
  histograms<const D extends Record<string, HistogramDef>>(
    defs: D,
  ): { [K in keyof D]: BatchedHistogram<LabelsOf<D[K]>> };
}

export function createMetricFactory(registry: Registry): MetricFactory {
  const registers = [registry];
  const labels = <T extends string>(labelNames: readonly T[] | undefined) =>
    labelNames === undefined ? {} : { labelNames };
  // Entries are registered in the table's order, so the exposition lists them that way.
  const each = <D extends Record<string, MetricDef>, M>(defs: D, make: (def: D[keyof D], key: string) => M) =>
    Object.fromEntries(
      Object.entries(defs).map(([key, def]) => [key, make(def as D[keyof D], key)]),
    ) as Record<keyof D, M>;
  return {
    registry,
    counters: (defs, collect) =>
      each(defs, (d, key) => {
        const onCollect = (collect as Record<string, (this: Counter) => void> | undefined)?.[key];
        return new Counter({
          name: d.name,
          help: d.help,
          ...labels(d.labelNames),
          registers,
          ...(onCollect ? { collect: onCollect } : {}),
        });
      }),
    gauge: (name, help, labelNames, collect) =>
      new Gauge({ name, help, ...labels(labelNames), registers, ...(collect ? { collect } : {}) }),
    histograms: (defs) =>
      each(
        defs,
        (d) =>
          new BatchedHistogram({
            name: d.name,
            help: d.help,
            ...labels(d.labelNames),
            buckets: [...d.buckets],
            registers,
          }),
      ),
  };
}
