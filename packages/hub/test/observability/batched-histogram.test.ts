import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BatchedHistogram } from '../../src/observability/batched-histogram.js';

const BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** A batched histogram and prom-client's own, each in a registry of its own, under one name. */
function pair(labelNames: string[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const config = { name: 'h_seconds', help: 'h', buckets: BUCKETS, labelNames };
  const batched = new BatchedHistogram({ ...config, registers: [ours] });
  const plain = new Histogram({ ...config, registers: [theirs] });
  return { ours, theirs, batched, plain };
}

type Sample = { metricName: string | undefined; labels: Record<string, unknown>; value: number };
/** Every sample, `_sum` rounded: it is summed per scrape here, per value in prom-client. */
async function samples(r: Registry): Promise<Sample[]> {
  const [m] = await r.getMetricsAsJSON();
  return (m as unknown as { values: Sample[] }).values.map((v) => ({
    metricName: v.metricName,
    labels: v.labels,
    value: v.metricName?.endsWith('_sum') ? Number(v.value.toPrecision(9)) : v.value,
  }));
}

const LABELS = { a: { status_class: '2xx' }, b: { status_class: '5xx' } } as const;

describe('BatchedHistogram', () => {
  it('reads as prom-client’s histogram fed the same observations, across scrapes and resets (property)', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('record' as const),
        set: fc.constantFrom('a', 'b'),
        value: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...BUCKETS)),
      }),
      fc.record({ kind: fc.constant('observe' as const), value: fc.double({ min: 0, max: 2, noNaN: true }) }),
      fc.constant({ kind: 'scrape' as const }),
      fc.constant({ kind: 'reset' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const h = pair(['status_class']);
        for (const o of ops) {
          if (o.kind === 'record') {
            h.batched.record(LABELS[o.set], o.value);
            h.plain.observe(LABELS[o.set], o.value);
          } else if (o.kind === 'observe') {
            h.batched.observe({ status_class: '2xx' }, o.value);
            h.plain.observe({ status_class: '2xx' }, o.value);
          } else if (o.kind === 'scrape') {
            expect(await samples(h.ours)).toEqual(await samples(h.theirs));
          } else {
            h.ours.resetMetrics();
            h.theirs.resetMetrics();
          }
        }
        expect(await samples(h.ours)).toEqual(await samples(h.theirs));
      }),
      { numRuns: 200 },
    );
  });

  it('without labels, one series: the first record does not wipe what was observed before', async () => {
    const h = pair([]);
    const none = {};
    for (const v of [0.001, 0.2, 7, 0.2]) {
      h.batched.record(none, v);
      h.plain.observe(v);
    }
    h.batched.observe(0.03);
    h.plain.observe(0.03);
    expect(await samples(h.ours)).toEqual(await samples(h.theirs));
    expect(await h.ours.metrics()).toContain('h_seconds_count 5');
  });

  it("runs a collect of the caller's after handing over what was recorded", async () => {
    const registry = new Registry();
    const none = {};
    const h = new BatchedHistogram({
      name: 'c_seconds',
      help: 'c',
      buckets: BUCKETS,
      registers: [registry],
      collect(this: Histogram) {
        this.observe(0.002);
      },
    });
    h.record(none, 1);
    h.record(none, 2);
    const text = await registry.metrics();
    expect(text).toContain('c_seconds_count 3');
    expect(text).toContain('c_seconds_bucket{le="0.005"} 1');
  });

  it('refuses a value that is not a number, as prom-client does, and unknown labels', () => {
    const h = pair(['status_class']);
    h.batched.record(LABELS.a, 1);
    expect(() => h.batched.record(LABELS.a, Number.NaN)).toThrow(TypeError);
    expect(() => h.batched.record({ other: 'x' } as never, 1)).toThrow(/label/i);
  });
});
