// Hub, agent (64 slots) and upstream in ONE process, wrk -c32 from outside: CPU µs per request of
// the three together, read with process.cpuUsage over the measured window. The upstream's share is
// the same for every build, so two builds compare on one number (ab-cpu.mjs alternates them).
//   node bench/probes/inproc-cpu.mjs ROOT [warm s=3] [measure s=4]
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { devNullWriter } from '../lib/cli-logger.mjs';
import { startChain } from '../lib/in-process.mjs';

const [rootArg, warm = '3', secs = '4'] = process.argv.slice(2);
// imports below are relative to this file, so `.` must become the checkout's absolute path
const root = resolve(rootArg);
const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
// as `slime hub run` writes its lines (one write per event-loop turn), whichever root is measured
const logger = () =>
  createLogger({ level: process.env.LOG ?? 'info', format: 'json', write: devNullWriter() });
const body = Buffer.from('hello world\n');
const { url, close } = await startChain(root, (_req, res) => res.end(body), {
  numWorker: 64,
  hubOptions: { logger: logger() },
  agentOptions: { logger: logger() },
});
const wrk = async (s) => {
  const { stdout } = await promisify(execFile)('wrk', ['-t1', '-c32', `-d${s}s`, url]);
  return Number(/(\d+) requests in/.exec(stdout)[1]);
};
await wrk(warm);
const c0 = process.cpuUsage();
const n = await wrk(secs);
const c = process.cpuUsage(c0);
console.log(
  JSON.stringify({ requests: n, usPerReq: (c.user + c.system) / n, userUs: c.user / n, sysUs: c.system / n }),
);
await close();
process.exit(0);
