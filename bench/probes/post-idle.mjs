// What a pause between rounds does to the next round: scenario 1's hub+agent (CLI logger at info,
// 64 slots) and the lean two-hop floor, long-lived, each measured under wrk -c32 as five 1-second
// runs right after IDLE_MS of idle (the bench's alternating rounds leave each variant idle ~25 s),
// in turns. Prints CPU µs/req per second after the pause, and the hub's and the agent's main-thread
// GC (scavenges and mark-compacts, count and ms) of hub, agent, lean front and lean back during the
// pause and during the load.
//   node bench/probes/post-idle.mjs [cycles=3]   (IDLE_MS=25000; LOG=level|none; BENCH_NODE_FLAGS for hub and agent)
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { runWrk, which } from '../lib/tools.mjs';

const cycles = Number(process.argv[2] ?? 3);
const idleMs = Number(process.env.IDLE_MS ?? 25_000);
const wrkPath = which('wrk');
const wrk = async (url, seconds) => (await runWrk(wrkPath, { url, connections: 32, seconds })).requests;
const scope = childScope();
try {
  const upstream = await startUpstream(scope);
  // LOG=level for hub and agent (default info, the CLI's); LOG=none: no logger at all
  const log = process.env.LOG === 'none' ? undefined : (process.env.LOG ?? 'info');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 64, log });
  const { front: leanFront, back: leanBack } = await startLean(scope, upstream.info.url);
  const variants = [
    { name: 'lean two-hop', url: leanFront.info.url, pids: [leanFront.pid, leanBack.pid] },
    { name: 'hub+agent', url: slime.url, pids: slime.pids },
  ];
  const procs = { hub: slime.hub, agent: slime.agents[0], 'lean front': leanFront, 'lean back': leanBack };
  const gc = async () => {
    const gcs = await Promise.all(Object.values(procs).map((p) => p.call('gc')));
    const f = (g) => `${g.minor} scav ${g.minorMs.toFixed(0)} ms, ${g.major} MC ${g.majorMs.toFixed(0)} ms`;
    return Object.keys(procs)
      .map((name, i) => `${name} ${f(gcs[i])}`)
      .join('; ');
  };
  await gc();
  for (const v of variants) await wrk(v.url, 5);
  for (let c = 0; c < cycles; c++) {
    for (const v of variants) {
      await gc();
      await new Promise((r) => setTimeout(r, idleMs));
      const duringIdle = await gc();
      const perSecond = [];
      for (let s = 0; s < 5; s++) {
        const c0 = v.pids.map(cpuMs);
        const n = await wrk(v.url, 1);
        perSecond.push(((v.pids.reduce((sum, pid, i) => sum + cpuMs(pid) - c0[i], 0) * 1000) / n).toFixed(0));
      }
      console.log(`${v.name}: µs/req in each second after ${idleMs} ms idle: ${perSecond.join(' ')}`);
      console.log(`  GC while idle: ${duringIdle}\n  GC under load: ${await gc()}`);
    }
  }
} finally {
  await scope.close();
}
process.exit(0);
