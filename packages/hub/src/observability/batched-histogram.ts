import { format } from 'node:util';
import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

/** prom-client's state for one label set (`hashMap` values): what a scrape reads. */
interface SeriesState {
  labels: object;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Observations of one label set not yet handed to prom-client. */
class Pending {
  readonly labels: object;
  /** Per upper bound, in order; the last slot counts values above every bound (only in count). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Where prom-client keeps this label set, found on the first flush. */
  key: string | undefined = undefined;
  state: SeriesState | undefined = undefined;

  constructor(labels: object, bounds: number) {
    this.labels = labels;
    this.counts = new Float64Array(bounds + 1);
  }
}

/**
 * A prom-client Histogram whose hot path (`record`) adds to plain per-label-set arrays, handed to
 * prom-client when the histogram is read (a scrape). prom-client's `observe` builds a label/value
 * pair, validates the labels and hashes them into a fresh string key for every observation (~0.5 µs
 * each, two per request); `record` costs a Map lookup by the labels object's identity and a bucket
 * search, and a scrape adds each label set's bucket counts at once (work per label set, not per
 * observation). Everything else (exposition, `observe`, `reset`, cluster aggregation) is
 * prom-client's own. `_sum` is added per scrape rather than per value, so its last digits may
 * differ from prom-client's sequential sum.
 *
 * Pass the same labels object for the same label set (a cached one): the pending counts are kept
 * per object. The first observation of each object goes through prom-client's `observe`, which
 * validates the labels and creates the series.
 */
export class BatchedHistogram<T extends string = string> extends Histogram<T> {
  readonly #bounds: readonly number[];
  readonly #pending = new Map<object, Pending>();

  constructor(config: HistogramConfiguration<T>) {
    const collect = config.collect;
    super({
      ...config,
      // what was recorded is handed over first, then a collect of the caller's runs as usual
      collect(this: Histogram<T>) {
        (this as BatchedHistogram<T>).flush();
        return collect?.call(this);
      },
    });
    this.#bounds = [...(config.buckets ?? [])].sort((a, b) => a - b);
  }

  /** Observes `value` for `labels` (the same object each time for one label set). */
  record(labels: LabelValues<T>, value: number): void {
    const p = this.#pending.get(labels);
    if (p === undefined) {
      this.observe(labels, value);
      this.#pending.set(labels, new Pending(labels, this.#bounds.length));
      return;
    }
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${format(value)}`);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    p.counts[i]!++;
    p.sum += value;
    p.count++;
  }

  /** Hands what was recorded to prom-client (a scrape calls it first). */
  flush(): void {
    const series = (this as unknown as { hashMap: Record<string, SeriesState> }).hashMap;
    for (const p of this.#pending.values()) {
      if (p.count === 0) continue;
      const state = this.#stateOf(p, series);
      const bounds = this.#bounds;
      for (let i = 0; i < bounds.length; i++) {
        const n = p.counts[i]!;
        if (n > 0) state.bucketValues[bounds[i]!]! += n;
        p.counts[i] = 0;
      }
      p.counts[bounds.length] = 0;
      state.sum += p.sum;
      state.count += p.count;
      p.sum = 0;
      p.count = 0;
    }
  }

  override reset(): void {
    // prom-client's constructor calls it too, before this class's fields exist
    if (#pending in this) this.#pending.clear();
    super.reset();
  }

  /** prom-client's series for the label set, made (as `zero` makes it) if a reset dropped it. */
  #stateOf(p: Pending, series: Record<string, SeriesState>): SeriesState {
    if (p.key !== undefined && series[p.key] === p.state) return p.state!;
    const names = (this as unknown as { labelNames: readonly string[] }).labelNames;
    const same = (s: SeriesState) =>
      names.every(
        (n) => (s.labels as Record<string, unknown>)[n] === (p.labels as Record<string, unknown>)[n],
      );
    let found = Object.entries(series).find(([, s]) => same(s));
    if (found === undefined) {
      this.zero(p.labels as LabelValues<T>);
      const now = (this as unknown as { hashMap: Record<string, SeriesState> }).hashMap;
      found = Object.entries(now).find(([, s]) => same(s))!;
    }
    [p.key, p.state] = found;
    return found[1];
  }
}
