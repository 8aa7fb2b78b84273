// Counts the function hops of one request: the stack (sync and async frames) when the hub's
// dispatcher gets it and when the agent hands it to undici. Used for #16's "hops" figure.
//   node bench/probes/request-hops.mjs [ROOT]
import { startChain } from '../lib/in-process.mjs';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
Error.stackTraceLimit = Number.POSITIVE_INFINITY;
const { Dispatcher } = await import(`${root}/packages/hub/dist/dispatch/dispatcher.js`);
const undici = await import(`${root}/node_modules/undici/index.js`);

const stacks = {};
const wrap = (proto, name, label) => {
  const orig = proto[name];
  proto[name] = function (...args) {
    stacks[label] ??= new Error().stack;
    return orig.apply(this, args);
  };
};
wrap(Dispatcher.prototype, 'dispatch', 'hub: client socket -> Dispatcher.dispatch');
wrap(undici.Client.prototype, 'request', 'agent: hub socket -> undici Client.request');

const { url, close } = await startChain(root, (_req, res) => res.end('ok'));
for (let i = 0; i < 2; i++) {
  const res = await fetch(`${url}/x`);
  await res.text();
}
for (const [label, stack] of Object.entries(stacks)) {
  const frames = stack
    .split('\n')
    .slice(2)
    .map((l) => l.trim().replace(/^at /, ''));
  const ours = frames.filter((f) => f.includes('/packages/'));
  console.log(`${label}: ${frames.length} frames, ${ours.length} in our packages`);
  for (const f of frames) console.log(`  ${f.includes('/packages/') ? '*' : ' '} ${f.replace(root, '')}`);
}
await close();
