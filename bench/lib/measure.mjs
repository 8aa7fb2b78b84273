// Alternating rounds: every variant of a scenario runs once per round, in turn, so that whatever
// else the machine is doing affects all variants alike. Ratios are taken per round, then the
// median of those is reported: steadier than the ratio of two medians on a noisy, shared machine.
import { cpuMs } from './proc-stats.mjs';
import { median, ratio } from './stats.mjs';

/**
 * Runs `measure(variant)` for every variant, `rounds` times, alternating. Each result gets the CPU
 * ms the variant's `pids` used meanwhile (`cpuMs`, and per pid in the same order `cpuMsByPid`).
 * Returns { [variant.name]: result[] }.
 */
export async function alternate(variants, rounds, measure) {
  const out = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const pids = v.pids ?? [];
      const cpu0 = pids.map(cpuMs);
      const result = await measure(v, r);
      result.cpuMsByPid = pids.map((pid, i) => cpuMs(pid) - cpu0[i]);
      result.cpuMs = result.cpuMsByPid.reduce((a, b) => a + b, 0);
      out[v.name].push(result);
    }
  }
  return out;
}

/** Median over rounds of the per-round ratio a[i].key / b[i].key. */
export function roundRatio(a, b, key) {
  return median(a.map((x, i) => ratio(x[key], b[i]?.[key])));
}

/** Median of one field over rounds. */
export function med(results, key) {
  return median(results.map((x) => x[key]));
}

/**
 * CPU microseconds per request over all rounds: of all the variant's pids, or of the one at index
 * `pidIndex` in its `pids`.
 */
export function cpuUsPerRequest(results, pidIndex) {
  const cpuOf = (x) => (pidIndex === undefined ? x.cpuMs : (x.cpuMsByPid?.[pidIndex] ?? Number.NaN));
  const cpu = results.reduce((s, x) => s + cpuOf(x), 0);
  const reqs = results.reduce((s, x) => s + x.requests, 0);
  return reqs ? (cpu * 1000) / reqs : Number.NaN;
}
