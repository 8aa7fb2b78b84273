// Scenario 2's topology (upstream, load, hub and agent roles in their own processes), one direction
// for many rounds, printing each round's MiB/s, hub and agent CPU ms and the hub's heap: does the
// cost per transfer drift across rounds in one hub?
//
//   node bench/probes/large-body-rounds.mjs [download|upload] [MiB=1024] [rounds=8]
import { spawn } from 'node:child_process';
import { childScope } from '../lib/children.mjs';
import { cpuSplitMs } from '../lib/proc-stats.mjs';
import { startLargeBodyTopology } from '../lib/setup.mjs';

const dir = process.argv[2] ?? 'download';
const bytes = Number(process.argv[3] ?? 1024) * 1024 * 1024;
const rounds = Number(process.argv[4] ?? 8);
const scope = childScope();
try {
  // BENCH_STREAM_WINDOW as in scenario 2
  const { load, slime } = await startLargeBodyTopology(scope);
  const [hubPid, agentPid] = slime.pids;
  const mib = (n) => (n / 1048576).toFixed(1);
  for (let r = 0; r < rounds; r++) {
    // STRACE=1: syscall counts of the hub and the agent over the last round (strace -c) in
    // /tmp/strace-{hub,agent}.txt; PERF=1: `perf record -g` of both (all threads) in /tmp/perf-*.data
    const name = (pid) => (pid === hubPid ? 'hub' : 'agent');
    const tracer = (pid) =>
      process.env.PERF
        ? spawn(
            'perf',
            ['record', '-F', '1999', '-g', '-p', String(pid), '-o', `/tmp/perf-${name(pid)}.data`],
            {
              stdio: 'ignore',
            },
          )
        : spawn('strace', ['-c', '-f', '-p', String(pid), '-o', `/tmp/strace-${name(pid)}.txt`]);
    const tracers =
      (process.env.STRACE || process.env.PERF) && r === rounds - 1 ? [hubPid, agentPid].map(tracer) : [];
    if (tracers.length) await new Promise((res) => setTimeout(res, 500));
    const c0 = [cpuSplitMs(hubPid), cpuSplitMs(agentPid)];
    const res = await load.call(dir, { url: slime.url, bytes });
    const split = (pid, i) => {
      const now = cpuSplitMs(pid);
      return `${(now.user - c0[i].user).toFixed(0)}u+${(now.sys - c0[i].sys).toFixed(0)}s`;
    };
    const c = [split(hubPid, 0), split(agentPid, 1)];
    for (const t of tracers) {
      t.kill('SIGINT');
      await new Promise((res) => t.once('exit', res));
    }
    const h = await slime.hub.call('heap');
    const a = await slime.agents[0].call('heap');
    const old = (x) => x.spaces.find((s) => s.space_name === 'old_space').space_used_size;
    console.log(
      `round ${r}: ${(bytes / 1048576 / (res.ms / 1000)).toFixed(0)} MiB/s, hub ${c[0]} ms, agent ${c[1]} ms; hub heap ${mib(h.mem.heapUsed)} (old ${mib(old(h))}) ext ${mib(h.mem.external)} ab ${mib(h.mem.arrayBuffers)}; agent heap ${mib(a.mem.heapUsed)} ext ${mib(a.mem.external)}`,
    );
  }
} finally {
  await scope.close();
}
