import fc from 'fast-check';
import { expect } from 'vitest';
import { collector, settledHeap } from './fuzz-http.js';

/** What a fuzz property runs against: a live setup it rebuilds when a run left it dirty. */
export interface FuzzWorld {
  dirty: boolean;
}

/**
 * Runs one fuzz property the way both fuzz files do: seeded (FUZZ_SEED overrides, FUZZ_PATH replays
 * a shrunk case, FUZZ_RUNS runs more), bounded to 15 s of runs (a slow CI runs fewer instead of
 * timing out), a failed run marks its world dirty so the next one starts fresh, and the heap after
 * the runs may not grow by more than 48 MiB over `baseline` (see `heapBaseline`).
 */
export async function assertFuzzProperty<T, W extends FuzzWorld>(options: {
  arbitrary: fc.Arbitrary<T>;
  world: () => Promise<W>;
  run: (world: W, value: T) => Promise<void>;
  defaultSeed: number;
  baseline: number;
}): Promise<void> {
  await fc.assert(
    fc.asyncProperty(options.arbitrary, async (value) => {
      const w = await options.world();
      try {
        await options.run(w, value);
      } catch (err) {
        w.dirty = true;
        throw err;
      }
    }),
    {
      seed: Number(process.env.FUZZ_SEED ?? options.defaultSeed),
      numRuns: Number(process.env.FUZZ_RUNS ?? 100),
      interruptAfterTimeLimit: 15_000,
      markInterruptAsFailure: false,
      ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    },
  );
  expect(settledHeap(gc) - options.baseline).toBeLessThan(48 * 1024 * 1024);
}

const gc = collector();

/** Heap used after a full collection, before the runs: what `assertFuzzProperty` compares with. */
export function heapBaseline(): number {
  return settledHeap(gc);
}
