import type { Logger } from 'pino';
import type { CliContext } from './context.js';

/**
 * V8's old-generation growing factor for a proxy process.
 *
 * A hub or an agent keeps a small live heap (~15 MiB) and streams bodies through short-lived
 * ArrayBuffers. V8 grows the old generation by a factor it derives from how fast the last
 * mark-compacts ran against how fast the program allocates there. With a small heap that marks
 * quickly, the factor it picks can fall to ~1.5-2.7: limits of 27-38 MB over 11-14 MB live were
 * seen, against 48-52 MB in healthy processes. With that little room (V8 compares it with what the
 * young generation may promote), every scavenge starts incremental marking again and the process
 * runs a full mark-compact every 50-100 ms for as long as traffic flows: at 1 GiB transfers,
 * 25-45 mark-compacts per GiB and 2-3x the CPU of a process that picked a larger factor (2 per
 * run). Which way a process goes is decided by timing, so without this a run is a coin toss
 * (bench/probes/large-body-rounds.mjs; docs/bench.md has the A/B).
 *
 * A fixed factor of 4 (V8's own ceiling) lets up to 3x the live heap of garbage build up between
 * full collections (tens of MiB for a typical hub; --max-old-space-size still caps it), and no
 * mark-compact loop. An explicit `node --heap-growing-percent=N` wins (Node does not take V8 heap
 * flags from NODE_OPTIONS).
 */
export const HEAP_GROWING_FLAG = '--heap-growing-percent';
export const HEAP_GROWING_PERCENT = 300;

/** The flag to set, or null when the user chose a growing factor of their own. */
export function heapTuningFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return null;
  return `${HEAP_GROWING_FLAG}=${HEAP_GROWING_PERCENT}`;
}

/** One line at start, so an operator sees which growing factor the process runs with. */
export function logHeapTuning(logger: Logger, ctx: CliContext): void {
  if (ctx.heapTuning === undefined) return;
  if (ctx.heapTuning === null) logger.info('v8 heap growing factor: as given on the command line');
  else logger.info({ flag: ctx.heapTuning }, 'v8 heap growing factor set');
}
