// A/B of CPU per request between built checkouts, in alternating rounds (inproc-cpu.mjs each),
// so that whatever else the machine does weighs on both alike. Prints each round and the medians.
//   node bench/probes/ab-cpu.mjs ROUNDS ROOT_A ROOT_B [...]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [roundsS, ...roots] = process.argv.slice(2);
const probe = fileURLToPath(new URL('./inproc-cpu.mjs', import.meta.url));
const res = Object.fromEntries(roots.map((r) => [r, []]));
for (let i = 0; i < Number(roundsS); i++) {
  for (const root of roots) {
    const out = JSON.parse(execFileSync(process.execPath, [probe, root], { encoding: 'utf8' }));
    res[root].push(out.usPerReq);
    console.log(`round ${i + 1} ${root}: ${out.usPerReq.toFixed(1)} µs/req (${out.requests} requests)`);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const root of roots) console.log(`median ${root}: ${median(res[root]).toFixed(1)} µs/req`);
