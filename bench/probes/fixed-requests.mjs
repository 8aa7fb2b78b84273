// N sequential small requests through hub + agent + upstream in one process, for counting
// instructions rather than time. Timings on this VM vary ±30% between runs; instruction counts vary
// too (±10%: JIT tiering and GC depend on timing), so compare the median of several runs each:
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node bench/probes/fixed-requests.mjs ROOT 300
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node bench/probes/fixed-requests.mjs ROOT 1300
//
// (Collected(1300) − Collected(300)) / 1000 is the instructions per request, start-up cancelled
// out; it includes the client's and the upstream's share, the same on both sides of a comparison.
// ROOT is a built checkout (default this one). LOG=info gives the hub and the agent the CLI's
// logger at that level (JSON lines to /dev/null), as `slime hub run` has by default.
import { startChain } from '../lib/in-process.mjs';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const n = Number(process.argv[3] ?? 500);
const { request } = await import(`${root}/node_modules/undici/index.js`);
const { openSync, writeSync } = await import('node:fs');
const logOpts = {};
if (process.env.LOG) {
  const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
  const fd = openSync('/dev/null', 'w');
  logOpts.logger = createLogger({ level: process.env.LOG, format: 'json', write: (l) => writeSync(fd, l) });
}
const { url, close } = await startChain(root, (_req, res) => res.end('hello world!'), {
  numWorker: 4,
  hubOptions: logOpts,
  agentOptions: logOpts,
});
for (let i = 0; i < n; i++) {
  const r = await request(`${url}/`);
  await r.body.text();
}
await close();
process.exit(0);
