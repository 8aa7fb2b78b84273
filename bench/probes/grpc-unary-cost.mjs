// Where a gRPC unary call's cost goes through hub + agent: every role in its own process (as in
// scenario 12), a fixed-length burst of calls, then CPU µs per call for each process separately
// (client, hub, agent, upstream) and, with STRACE=1, the socket syscalls per call of hub and agent
// (strace -c attached for the burst; the counts, not strace's slowed timings, are the point).
//
//   node bench/probes/grpc-unary-cost.mjs [ms=3000] [concurrency=32]   (DIRECT=1: no hub, no agent)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';

/** CPU ms per thread name of `pid` (main thread, V8 workers, libuv pool...). */
function threadsMs(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? 'main' : name;
      out[key] = (out[key] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    } catch {}
  }
  return out;
}

import { startSlime } from '../lib/setup.mjs';

const ms = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 32);
const scope = childScope();
try {
  const upstream = await scope.spawn('grpc-echo');
  const load = await scope.spawn('grpc-load');
  const direct = process.env.DIRECT === '1';
  const slime = direct ? null : await startSlime(scope, upstream.info.url, { numWorker: 32 });
  const target = direct ? upstream.info.target : new URL(slime.url).host;
  await load.call('unary', { target, concurrency, ms: Number(process.env.WARM_MS ?? 500) });
  const procs = direct
    ? { client: load.pid, upstream: upstream.pid }
    : { client: load.pid, hub: slime.hub.pid, agent: slime.agents[0].pid, upstream: upstream.pid };
  const traces = [];
  if (process.env.STRACE) {
    for (const name of direct ? ['upstream'] : ['hub', 'agent']) {
      const args =
        process.env.STRACE === 'log'
          ? ['-f', '-tt', '-T', '-e', 'trace=writev,write,read,epoll_pwait', '-o', `/tmp/strace-${name}.log`]
          : ['-c', '-f'];
      const t = spawn('strace', [...args, '-p', String(procs[name])], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let out = '';
      t.stderr.on('data', (d) => (out += d));
      traces.push({ name, t, done: new Promise((r) => t.once('exit', () => r(out))) });
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
  const tBefore = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, threadsMs(pid)]));
  const r = await load.call('unary', { target, concurrency, ms });
  const tAfter = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, threadsMs(pid)]));
  const after = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
  const lat = r.latencies.sort((a, b) => a - b);
  console.log(
    `${r.requests} calls in ${ms} ms (${Math.round(r.requests / (ms / 1000))}/s), errors ${r.errors}, p50 ${lat[lat.length >> 1].toFixed(2)} ms`,
  );
  for (const k of Object.keys(procs))
    console.log(
      `${k.padEnd(9)} ${((1000 * (after[k] - before[k])) / r.requests).toFixed(0).padStart(5)} µs/call  (${Object.entries(
        tAfter[k],
      )
        .map(([t, v]) => [t, ((1000 * (v - (tBefore[k][t] ?? 0))) / r.requests).toFixed(0)])
        .filter(([, v]) => v !== '0')
        .map(([t, v]) => `${t} ${v}`)
        .join(', ')})`,
    );
  for (const { name, t, done } of traces) {
    t.kill('SIGINT');
    const out = await done;
    console.log(`--- ${name} syscalls per call`);
    for (const line of out.split('\n')) {
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
      if (m && Number(m[1]) / r.requests >= 0.05)
        console.log(`${m[2].padEnd(14)} ${(Number(m[1]) / r.requests).toFixed(2)}`);
    }
  }
} finally {
  await scope.close();
}
