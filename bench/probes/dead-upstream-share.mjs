// Share of failed requests with one dead upstream of two behind two agents: 200 POSTs without
// Slime-Block, and how many answers name the dead upstream's address (issue #17).
//   node bench/probes/dead-upstream-share.mjs [REPO_ROOT]   (a built checkout; default this one)

import { once } from 'node:events';
import { createServer } from 'node:http';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const { createHub, signAgentToken } = await import(`${root}/packages/hub/dist/index.js`);
const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
const { request } = await import(`${root}/node_modules/undici/index.js`);
const up = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
up.listen(0, '127.0.0.1');
await once(up, 'listening');
const dead = createServer();
dead.listen(0, '127.0.0.1');
await once(dead, 'listening');
const deadPort = dead.address().port;
dead.close();
const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0 });
const { url } = await hub.listen();
const token = await signAgentToken({ secret: 's', name: 'a' });
const agents = [`http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${up.address().port}`].map((u) =>
  createAgent({ hub: url, upstream: u, token, numWorker: 4 }),
);
for (const a of agents) a.start();
await Promise.all(agents.map((a) => a.ready()));
const counts = {};
let leaks = 0;
for (let i = 0; i < 200; i++) {
  const res = await request(`${url}/job`, { method: 'POST', body: 'x'.repeat(100) });
  const text = await res.body.text();
  if (text.includes(String(deadPort))) leaks++;
  counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1;
}
console.log(
  JSON.stringify({
    statuses: counts,
    failedShare: 1 - (counts[200] ?? 0) / 200,
    bodiesNamingUpstream: leaks,
  }),
);
for (const a of agents) await a.close();
await hub.close();
up.close();
