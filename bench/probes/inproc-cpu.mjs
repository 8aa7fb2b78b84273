// Hub, agent (64 slots) and upstream in ONE process, wrk -c32 from outside: CPU µs per request of
// the three together, read with process.cpuUsage over the measured window. The upstream's share is
// the same for every build, so two builds compare on one number (ab-cpu.mjs alternates them).
//   node bench/probes/inproc-cpu.mjs ROOT [warm s=3] [measure s=4]
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { promisify } from 'node:util';

const [root, warm = '3', secs = '4'] = process.argv.slice(2);
const { createHub, signAgentToken } = await import(`${root}/packages/hub/dist/index.js`);
const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
const fd = openSync('/dev/null', 'w');
const logger = () =>
  createLogger({ level: process.env.LOG ?? 'info', format: 'json', write: (l) => writeSync(fd, l) });
const body = Buffer.from('hello world\n');
const up = createServer((_req, res) => res.end(body));
up.listen(0, '127.0.0.1');
await once(up, 'listening');
const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0, logger: logger() });
const { url } = await hub.listen();
const agent = createAgent({
  hub: url,
  upstream: `http://127.0.0.1:${up.address().port}`,
  token: await signAgentToken({ secret: 's', name: 'a' }),
  numWorker: 64,
  logger: logger(),
});
agent.start();
await agent.ready();
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
await agent.close();
await hub.close();
up.close();
process.exit(0);
