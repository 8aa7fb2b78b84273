// The V8 heap setting `slime hub run` and `slime agent run` apply to their process (packages/cli
// heap-tuning.ts), applied the same way in the bench's hub and agent children so that the bench
// measures the CLI's configuration. BENCH_HEAP_TUNING=0 leaves V8's default, for an A/B.
import { setFlagsFromString } from 'node:v8';
import { heapTuningFlag } from '../../packages/cli/dist/heap-tuning.js';

export function applyCliHeapTuning() {
  if (process.env.BENCH_HEAP_TUNING === '0') return;
  const flag = heapTuningFlag(process.execArgv);
  if (flag) setFlagsFromString(flag);
}
