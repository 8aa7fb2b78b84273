// Inclusive and self time per function of a .cpuprofile over a window, scaled to CPU µs per
// request: the samples that were not idle stand for the process's measured CPU time.
//   node bench/probes/cpuprofile-inclusive.mjs FILE.cpuprofile T0 T1 REQUESTS CPU_US [top=60] [filter]
import { readFileSync } from 'node:fs';

const [file, t0s, t1s, reqs, cpus, topS = '60', filter = ''] = process.argv.slice(2);
const [t0, t1, requests, cpuUs, top] = [t0s, t1s, reqs, cpus, topS].map(Number);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^.*\/(packages|node_modules)\//, '').replace(/^file:\/\//, '');
  return `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
};
const incl = new Map();
const self = new Map();
let busy = 0;
let t = prof.startTime;
for (let i = 0; i < prof.samples.length; i++) {
  t += prof.timeDeltas[i];
  if (t < t0 || t > t1) continue;
  const n = byId.get(prof.samples[i]);
  const name = n.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') continue;
  busy++;
  self.set(label(n), (self.get(label(n)) ?? 0) + 1);
  const seen = new Set();
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + 1);
  }
}
const us = (c) => ((c / busy) * (cpuUs / requests)).toFixed(2).padStart(7);
console.log(`${busy} busy samples; ${(cpuUs / requests).toFixed(1)} µs/req`);
console.log('-- inclusive');
for (const [l, c] of [...incl]
  .sort((a, b) => b[1] - a[1])
  .filter(([l]) => l.includes(filter))
  .slice(0, top))
  console.log(`${us(c)}  ${l}`);
console.log('-- self');
for (const [l, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${us(c)}  ${l}`);
