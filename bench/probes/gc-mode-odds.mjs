// How often a fresh proxy process falls into the bad GC mode (docs/bench.md, "Answered: the hub's
// two GC modes"; a churning Map was the cause, so expect 0 of N now and use this as a guard):
// RUNS times, fresh processes of one pair (the lean two-hop pair, or hub+agent as scenario 1 runs
// them) are started, warmed with 2 s of wrk -c32 and measured for 5 s more. A process is in bad
// mode when its scavenges average more than BAD_MS (default 2.5 ms; good mode runs ~0.5-1.2 ms,
// bad mode 4-10 ms). The mode is a coin toss per process, so compare flags by these odds, never by
// one run. IDLE_MS=N idles N ms between warm-up and measurement. The children's `gc` command is a
// perf_hooks GC observer; bench/probes/gc-observer-mode.mjs reads GC from outside instead.
//   node bench/probes/gc-mode-odds.mjs [lean|hub] [runs=6]
//   BENCH_LEAN_FLAGS='--no-incremental-marking' node bench/probes/gc-mode-odds.mjs lean 6
//   BENCH_NODE_FLAGS='--incremental-marking' node bench/probes/gc-mode-odds.mjs hub 6
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { runWrk, which } from '../lib/tools.mjs';

const pair = process.argv[2] ?? 'lean';
const runs = Number(process.argv[3] ?? 6);
const badMs = Number(process.env.BAD_MS ?? 2.5);
const idleMs = Number(process.env.IDLE_MS ?? 0);
if (pair !== 'lean' && pair !== 'hub') throw new TypeError('pair must be lean or hub');
const wrkPath = which('wrk');
const wrk = async (url, seconds) => (await runWrk(wrkPath, { url, connections: 32, seconds })).requests;

const tally = { front: 0, back: 0 };
for (let r = 0; r < runs; r++) {
  const scope = childScope();
  try {
    const upstream = await startUpstream(scope);
    let url;
    let procs;
    if (pair === 'lean') {
      const { front, back } = await startLean(scope, upstream.info.url);
      url = front.info.url;
      procs = [front, back];
    } else {
      const slime = await startSlime(scope, upstream.info.url, { numWorker: 64, log: 'info' });
      url = slime.url;
      procs = [slime.hub, slime.agents[0]];
    }
    await Promise.all(procs.map((p) => p.call('gc')));
    await wrk(url, 2);
    // IDLE_MS: a pause before the measured load (V8's memory reducer runs ~10-20 s into one)
    if (idleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
    await Promise.all(procs.map((p) => p.call('gc')));
    const c0 = procs.map((p) => cpuMs(p.pid));
    const n = await wrk(url, 5);
    const gcs = await Promise.all(procs.map((p) => p.call('gc')));
    const us = procs.map((p, i) => ((cpuMs(p.pid) - c0[i]) * 1000) / n);
    const cells = gcs.map((g, i) => {
      const per = g.minor ? g.minorMs / g.minor : 0;
      const bad = per > badMs;
      tally[i === 0 ? 'front' : 'back'] += bad ? 1 : 0;
      const name = pair === 'lean' ? ['front', 'back'][i] : ['hub', 'agent'][i];
      return `${name} ${bad ? 'BAD ' : 'good'} ${g.minor} scav × ${per.toFixed(1)} ms, ${g.major} MC, ${us[i].toFixed(0)} µs/req`;
    });
    console.log(`run ${r + 1}: ${(n / 5).toFixed(0)} req/s; ${cells.join('; ')}`);
  } finally {
    await scope.close();
  }
}
const [a, b] = pair === 'lean' ? ['front', 'back'] : ['hub', 'agent'];
console.log(`bad mode: ${a} ${tally.front}/${runs}, ${b} ${tally.back}/${runs}`);
process.exit(0);
