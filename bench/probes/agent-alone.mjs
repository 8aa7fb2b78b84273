// The agent of scenario 1 in this process (so node flags such as --trace-gc apply to it), with the
// upstream and the hub in child processes, under wrk -c32. Prints the agent's CPU µs/request and
// its young-generation GCs (count and ms per 1,000 requests) over the measured window.
//   node [flags] bench/probes/agent-alone.mjs [ROOT=.] [warm s=3] [measure s=5]
// ALLOC_PROF=FILE: a sampling allocation profile of the measured window (.heapprofile, for
// heapprofile-report.mjs); with ALLOC_PROF_SURVIVORS=1 only what outlived a young-generation GC.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { startAllocProfile } from '../lib/alloc-profile.mjs';
import { childScope } from '../lib/children.mjs';
import { countGc } from '../lib/gc-count.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';
import { which } from '../lib/tools.mjs';

const [root = '.', warm = '3', secs = '5'] = process.argv.slice(2);
const run = promisify(execFile);
const scope = childScope();
const upstream = await startUpstream(scope);
const hub = await scope.spawn('hub', { secret: SECRET, options: {}, log: 'info' });
const { createAgent } = await import(`${resolve(root)}/packages/agent/dist/index.js`);
const { createLogger } = await import(`${resolve(root)}/packages/cli/dist/logger.js`);
const { openSync, writeSync } = await import('node:fs');
const fd = openSync('/dev/null', 'w');
const logger = createLogger({ level: 'info', format: 'json', write: (l) => writeSync(fd, l) });
const agent = createAgent({
  token: await agentToken(),
  hub: hub.info.url,
  upstream: upstream.info.url,
  numWorker: 64,
  logger,
});
agent.start();
await agent.ready();
const wrk = (s) =>
  run(which('wrk'), ['-t1', '-c32', `-d${s}s`, hub.info.url]).then((r) =>
    Number(/(\d+) requests in/.exec(r.stdout)[1]),
  );
console.error(`warm-up: ${await wrk(Number(warm))} requests`);
const stopAllocProfile = await startAllocProfile();
const gcCount = countGc();
const c0 = process.cpuUsage();
const n = await wrk(Number(secs));
const c = process.cpuUsage(c0);
const gc = gcCount.take();
gcCount.stop();
await stopAllocProfile();
const k = n / 1000;
console.log(
  `${root}: ${n} requests, agent ${((c.user + c.system) / n).toFixed(1)} µs/req; young GCs ${(gc.minor / k).toFixed(2)} per 1k req, ${(gc.minorMs / k).toFixed(2)} ms per 1k req; major ${gc.major} (${gc.majorMs.toFixed(1)} ms)`,
);
await agent.close?.();
await scope.close();
process.exit(0);
