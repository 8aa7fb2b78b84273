// Is scenario 1 CPU-bound? Runs the lean two-hop floor and hub+agent variants under wrk -c32 and
// reads, per run, the CPU of every process in the chain (upstream, proxies, wrk) and the machine's
// idle time from /proc/stat. A path whose processes leave the cores idle while wrk waits is
// latency-bound: its req/s is below what its CPU per request allows.
//   node bench/probes/idle-share.mjs [rounds=3] [seconds=6] [VARIANT...]
// A VARIANT is `name` or `name:ENV=value,ENV2=value`: a fresh hub and agent per round with that
// environment (their processes inherit it), so one process's luck (JIT, heap) does not decide.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { which } from '../lib/tools.mjs';

const [roundsS = '3', secsS = '6', ...specs] = process.argv.slice(2);
const [rounds, secs] = [Number(roundsS), Number(secsS)];
const variants = (specs.length ? specs : ['hub+agent']).map((s) => {
  const [name, env = ''] = s.split(':');
  return {
    name,
    env: Object.fromEntries(
      env
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=')),
    ),
  };
});
const machine = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
};
const wrk = (url, s) => {
  const child = execFile(which('wrk'), ['-t1', '-c32', `-d${s}s`, url]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve, reject) => {
    child.on('exit', () => resolve(out));
    child.on('error', reject);
  });
  return { pid: child.pid, done };
};
async function measure(name, url, pids, upstreamPid) {
  await wrk(url, 2).done;
  const all = [upstreamPid, ...pids];
  const c0 = all.map(cpuMs);
  const m0 = machine();
  const w = wrk(url, secs);
  let wrkMs = 0;
  const poll = setInterval(() => {
    try {
      wrkMs = cpuMs(w.pid);
    } catch {}
  }, 200);
  const out = await w.done;
  clearInterval(poll);
  const m1 = machine();
  const n = Number(/(\d+) requests in/.exec(out)[1]);
  const per = all.map((pid, i) => ((cpuMs(pid) - c0[i]) * 1000) / n);
  const idle = (100 * (m1.idle - m0.idle)) / (m1.total - m0.total);
  console.log(
    `${name}: ${Math.round(n / secs)} req/s; µs/req proxies ${per
      .slice(1)
      .map((x) => x.toFixed(1))
      .join(
        ' / ',
      )} (sum ${(per[1] + per[2]).toFixed(1)}), upstream ${per[0].toFixed(1)}, wrk ~${((wrkMs * 1000) / n).toFixed(1)}; machine idle ${idle.toFixed(1)}%`,
  );
  return { rps: n / secs, cpu: per[1] + per[2], idle };
}
const scope = childScope();
const results = { lean: [], ...Object.fromEntries(variants.map((v) => [v.name, []])) };
try {
  const upstream = await startUpstream(scope);
  const { front: leanFront, back: leanBack } = await startLean(scope, upstream.info.url);
  for (let r = 0; r < rounds; r++) {
    results.lean.push(
      await measure('lean two-hop', leanFront.info.url, [leanFront.pid, leanBack.pid], upstream.pid),
    );
    for (const v of variants) {
      const saved = { ...process.env };
      Object.assign(process.env, v.env);
      const inner = childScope();
      try {
        const slime = await startSlime(inner, upstream.info.url, { numWorker: 64, log: 'info' });
        process.env = saved;
        results[v.name].push(await measure(v.name, slime.url, slime.pids, upstream.pid));
      } finally {
        process.env = saved;
        await inner.close();
      }
    }
  }
} finally {
  await scope.close();
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [name, rs] of Object.entries(results)) {
  console.log(
    `median ${name}: ${Math.round(median(rs.map((x) => x.rps)))} req/s, proxies ${median(rs.map((x) => x.cpu)).toFixed(1)} µs/req, idle ${median(rs.map((x) => x.idle)).toFixed(1)}%`,
  );
}
process.exit(0);
