// Counts the function hops of one request: the stack (sync and async frames) when the hub's
// dispatcher gets it and when the agent hands it to undici. Used for #16's "hops" figure.
//   node bench/probes/request-hops.mjs [ROOT]
import { once } from 'node:events';
import { createServer } from 'node:http';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
Error.stackTraceLimit = Number.POSITIVE_INFINITY;
const { createHub, signAgentToken } = await import(`${root}/packages/hub/dist/index.js`);
const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
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

const up = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
await once(up, 'listening');
const hub = createHub({ secret: 's3cret', host: '127.0.0.1', port: 0 });
const { url } = await hub.listen();
const token = await signAgentToken({ secret: 's3cret', name: 'hops' });
const agent = createAgent({
  hub: url,
  token,
  upstream: `http://127.0.0.1:${up.address().port}`,
  numWorker: 1,
});
agent.start();
await agent.ready();
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
await agent.close();
await hub.close();
up.close();
