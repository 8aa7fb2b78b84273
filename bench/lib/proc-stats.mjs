// CPU time and memory of other processes, read from /proc (Linux). Reading /proc instead of asking
// the child keeps the measurement out of the measured event loop and works for nginx as well.
import { readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; 100 Hz on every mainstream kernel config.
const TICK_MS = 10;

/** User+system CPU milliseconds consumed so far by `pid` (0 when it is gone). */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** User and system CPU milliseconds of `pid` so far, apart ({ user: 0, sys: 0 } when it is gone). */
export function cpuSplitMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * TICK_MS, sys: Number(fields[12]) * TICK_MS };
  } catch {
    return { user: 0, sys: 0 };
  }
}

/** Summed CPU ms of several pids. */
export function cpuMsOf(pids) {
  return pids.reduce((s, pid) => s + cpuMs(pid), 0);
}

/** Resident set size of `pid` in bytes (0 when it is gone). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the RSS of `pids` every `everyMs` until stopped; returns the peak per pid. */
export function sampleRss(pids, everyMs = 50) {
  const peak = Object.fromEntries(pids.map((p) => [p, rssBytes(p)]));
  const timer = setInterval(() => {
    for (const p of pids) peak[p] = Math.max(peak[p], rssBytes(p));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      for (const p of pids) peak[p] = Math.max(peak[p], rssBytes(p));
      return peak;
    },
  };
}
