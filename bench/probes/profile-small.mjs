// Where the µs of a small request go, per process: scenario 1's topology (upstream, hub, agent
// with 64 slots, each its own process) under wrk -c32, with `perf record -e cpu-clock:u` on the
// hub and the agent (node --perf-basic-prof names the JIT frames). Prints each process's CPU µs
// per request (user and system, from /proc) and its user time per request by area and by function.
// perf samples on-CPU time only, so the figures hold on a machine shared with other work, unlike
// a wall-clock profile (--cpu-prof), which charges preemption to whatever frame was running.
//
//   node bench/probes/profile-small.mjs [seconds=8] [top=40]
//
// Needs wrk and perf (kernel.perf_event_paranoid <= 2 for a process of one's own).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childScope } from '../lib/children.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { which } from '../lib/tools.mjs';

const seconds = Number(process.argv[2] ?? 8);
const top = Number(process.argv[3] ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'slime-perf-'));
const wrk = which('wrk');
const perf = which('perf');
if (!wrk || !perf) throw new Error('needs wrk and perf');
const run = promisify(execFile);
// Inherited by the forked roles: perf-<pid>.map files name the JIT code.
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --perf-basic-prof`;

const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(x[11]) * 10, sys: Number(x[12]) * 10 }; // ms at 100 Hz
};

const scope = childScope();
const upstream = await startUpstream(scope);
const slime = await startSlime(scope, upstream.info.url, { numWorker: 64, log: 'info' });
const wrkRun = async (s) => {
  const { stdout } = await run(wrk, ['-t1', '-c32', `-d${s}s`, slime.url], { timeout: (s + 30) * 1000 });
  return Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
};
await wrkRun(Number(process.env.WARM ?? 6)); // warm-up: JIT and slots
const procs = { hub: slime.hub.pid, agent: slime.agents[0].pid };
const recs = Object.entries(procs).map(([role, pid]) => {
  const out = join(dir, `${role}.data`);
  const p = spawn(perf, ['record', '-q', '-e', 'cpu-clock:u', '-F', '4000', '-p', String(pid), '-o', out], {
    stdio: 'ignore',
  });
  return { role, pid, out, p };
});
await new Promise((r) => setTimeout(r, 300)); // perf attaches
const cpu0 = Object.fromEntries(recs.map(({ role, pid }) => [role, ticks(pid)]));
const requests = await wrkRun(seconds);
const cpu = Object.fromEntries(
  recs.map(({ role, pid }) => {
    const t = ticks(pid);
    return [role, { user: t.user - cpu0[role].user, sys: t.sys - cpu0[role].sys }];
  }),
);
for (const r of recs) r.p.kill('SIGINT');
await Promise.all(recs.map((r) => once(r.p, 'exit')));
await scope.close();

const perReq = (ms) => ((ms * 1000) / requests).toFixed(1);
console.log(
  `${requests} requests in ${seconds} s (${Math.round(requests / seconds)} req/s), perf data in ${dir}`,
);
for (const [role, c] of Object.entries(cpu))
  console.log(
    `${role}: ${perReq(c.user + c.sys)} µs/req CPU = user ${perReq(c.user)} + sys ${perReq(c.sys)} (/proc)`,
  );

function area(dso, sym) {
  const js = /^JS:[*~^+-]?(\S*) (.*?)(?::\d+){0,2}$/.exec(sym);
  if (js) {
    const url = js[2];
    if (/\/(pino|@pinojs|sonic-boom|thread-stream|fast-redact)/.test(url)) return 'pino';
    for (const pkg of ['undici', 'ws', 'prom-client']) if (url.includes(`/node_modules/${pkg}/`)) return pkg;
    const m = /packages\/(\w+)\/dist\/(.*)\.js/.exec(url);
    if (m) return `${m[1]}/${m[2]}`;
    if (url.startsWith('node:')) return url;
    return url.replace(/^.*node_modules\//, '') || 'JS (anon)';
  }
  if (/^(Builtins_|Builtin:)/.test(sym)) return 'v8 builtins';
  if (/Heap|Scaveng|Mark|Sweep|Evacuat|GC|Marking|Compact|Sweeper/i.test(sym)) return 'GC';
  if (/^(v8::|Turbofan|Maglev|compiler)/.test(sym) || sym.includes('compiler::'))
    return 'v8 runtime/compiler';
  if (dso.startsWith('libc')) return 'libc';
  if (/^uv_|^uv__/.test(sym)) return 'libuv';
  if (/^(node::|llhttp)/.test(sym)) return 'node C++';
  if (dso.includes('JIT')) return 'JIT (unnamed)';
  return `${dso} (other)`;
}

for (const { role, out } of recs) {
  const { stdout } = await run(
    perf,
    ['report', '-i', out, '--stdio', '--no-children', '--sort', 'dso,sym', '--percent-limit', '0'],
    { maxBuffer: 64 << 20 },
  );
  const user = cpu[role].user;
  const byArea = new Map();
  const bySym = new Map();
  for (const line of stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(.+?)\s+\[\.\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const pct = Number(m[1]);
    const dso = m[2].replace(/^\[JIT\] tid \d+/, 'JIT');
    const sym = m[3].trim().replace(/file:\/\/|\/work\/[^/]+\//g, '');
    const a = area(dso, sym);
    byArea.set(a, (byArea.get(a) ?? 0) + pct);
    const key = sym.startsWith('JS:') ? sym.replace(/^JS:[*~^+-]?/, '') : `${sym} [${dso}]`;
    bySym.set(key, (bySym.get(key) ?? 0) + pct);
  }
  const us = (pct) => ((pct / 100) * ((user * 1000) / requests)).toFixed(2).padStart(6);
  console.log(`\n=== ${role}: user ${perReq(user)} µs/req`);
  console.log('-- by area (user µs/req)');
  for (const [a, p] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${us(p)}  ${a}`);
  console.log('-- by function, self (user µs/req)');
  for (const [s, p] of [...bySym].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${us(p)}  ${s}`);
}
process.exit(0);
