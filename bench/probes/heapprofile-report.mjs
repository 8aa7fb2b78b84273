// Bytes allocated per request from a sampling .heapprofile (hub-alone.mjs with ALLOC_PROF=FILE):
// by the nearest frame of our packages on the stack, by allocating frame, and the two together.
// Node's own frames (http, streams) are charged to the package frame that called them.
//   node bench/probes/heapprofile-report.mjs FILE.heapprofile REQUESTS [top=40]
// For exact per-function figures run the hub with --no-turbo-inlining (inlined callees are
// otherwise charged to their caller).
import { readFileSync } from 'node:fs';

const [file, requestsS, topS = '40'] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const requests = Number(requestsS);
const top = Number(topS);
const self = new Map();
const ours = new Map();
const pairs = new Map();
let total = 0;
const name = (cf) =>
  `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/').replace('file://', '')}:${cf.lineNumber + 1}`;
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
// iterative walk: deep stacks would overflow a recursive one
const stack = [[prof.head, []]];
while (stack.length > 0) {
  const [node, path] = stack.pop();
  const p = [...path, node.callFrame];
  if (node.selfSize > 0) {
    total += node.selfSize;
    const k = name(node.callFrame);
    let o = '(no package frame)';
    for (let i = p.length - 1; i >= 0; i--) {
      if (p[i].url.includes('packages/')) {
        o = name(p[i]);
        break;
      }
    }
    add(self, k, node.selfSize);
    add(ours, o, node.selfSize);
    add(pairs, `${k}  <=  ${o}`, node.selfSize);
  }
  for (const c of node.children) stack.push([c, p]);
}
const print = (m, title) => {
  console.log(`-- ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(v / requests).toFixed(0).padStart(7)} B  ${k}`);
};
console.log(`total ${(total / requests).toFixed(0)} B/request`);
print(ours, 'by nearest package frame');
print(self, 'by allocating frame');
print(pairs, 'allocating frame <= nearest package frame');
