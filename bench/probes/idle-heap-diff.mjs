// Compares two V8 heap snapshots per constructor (objects by name, closures, arrays, strings...):
// count and self bytes added from A to B, divided by N (the idle agents connected in between), so
// the rows read "per agent". Snapshots from `HEAP_SNAPSHOT=DIR node --expose-gc
// bench/probes/idle-agents.mjs ROOT N 1`.
//
//   node bench/probes/idle-heap-diff.mjs A.heapsnapshot B.heapsnapshot N [rows=40]
import { readFileSync } from 'node:fs';

function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: types } = snap.snapshot.meta;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const typeNames = types[iType];
  const { nodes, strings } = snap;
  const rows = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = typeNames[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    // strings and numbers by type only; code by type; objects and closures by name
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'number' || type === 'code' || type === 'hidden') name = name.length > 40 ? '' : name;
    const key = `${type}:${name.slice(0, 60)}`;
    const r = rows.get(key) ?? { count: 0, bytes: 0 };
    r.count++;
    r.bytes += nodes[i + iSize];
    rows.set(key, r);
  }
  return rows;
}

const [a, b, nArg, rowsArg] = process.argv.slice(2);
const n = Number(nArg);
const before = summarize(a);
const after = summarize(b);
const diff = [];
for (const [key, r] of after) {
  const p = before.get(key) ?? { count: 0, bytes: 0 };
  diff.push({ key, count: (r.count - p.count) / n, bytes: (r.bytes - p.bytes) / n });
}
diff.sort((x, y) => y.bytes - x.bytes);
const total = diff.reduce((s, d) => s + d.bytes, 0);
console.log(`self bytes per agent: ${total.toFixed(0)} (${n} agents)`);
for (const d of diff.slice(0, Number(rowsArg ?? 40))) {
  console.log(`${d.bytes.toFixed(0).padStart(7)} B  ${d.count.toFixed(2).padStart(6)} x  ${d.key}`);
}
