// A/B of the AGENT's CPU per small request with both agents serving AT THE SAME TIME: one upstream
// and one hub (this checkout), then one agent process per root (SLOTS slots each, the CLI's
// default logger) attached to that hub, under wrk -c32 (scenario 1's shape). The hub spreads the
// requests over both, so both see the same machine load and the same batching, which sequential
// rounds on a shared machine do not give (CPU per request falls as req/s rises). Each agent counts
// its finished calls; its user+sys time comes from /proc. Prints µs/request per root per round and
// the median of the per-round differences.
//   node bench/probes/agent-pair.mjs ROUNDS ROOT_A ROOT_B   (env WARM=3 SECS=5 SLOTS=32)
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';

const [roundsS, ...roots] = process.argv.slice(2);
const warm = Number(process.env.WARM ?? 3);
const secs = Number(process.env.SECS ?? 5);
const slots = Number(process.env.SLOTS ?? 32);
const self = fileURLToPath(import.meta.url);

if (roundsS === '--child') {
  const [root, hub, upstream, token] = roots;
  const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
  const { openSync, writeSync } = await import('node:fs');
  const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
  const fd = openSync('/dev/null', 'w');
  const logger = createLogger({ level: 'info', format: 'json', write: (l) => writeSync(fd, l) });
  const agent = createAgent({ token, hub, upstream, numWorker: slots, logger });
  let calls = 0;
  agent.on('callFinished', () => calls++);
  agent.start();
  await agent.ready();
  process.on('message', () => process.send(calls));
  process.send('ready');
  process.on('disconnect', () => process.exit(0));
} else {
  const ticks = cpuMs;
  const scope = childScope();
  const upstream = await startUpstream(scope);
  const hub = await scope.spawn('hub', { secret: SECRET, options: {}, log: 'info' });
  const token = await agentToken();
  const wrk = (s) => promisify(execFile)('wrk', ['-t1', '-c32', `-d${s}s`, hub.info.url]);
  const agents = [];
  try {
    for (const root of roots) {
      const child = fork(self, ['--child', resolve(root), hub.info.url, upstream.info.url, token], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await once(child, 'message');
      agents.push({ root, child });
    }
    const calls = (a) => {
      a.child.send('count');
      return once(a.child, 'message').then(([n]) => n);
    };
    await wrk(warm);
    const res = Object.fromEntries(roots.map((r) => [r, []]));
    const diffs = [];
    for (let i = 0; i < Number(roundsS); i++) {
      const before = await Promise.all(
        agents.map(async (a) => ({ t: ticks(a.child.pid), n: await calls(a) })),
      );
      await wrk(secs);
      const us = await Promise.all(
        agents.map(async (a, k) => {
          const n = (await calls(a)) - before[k].n;
          return { us: ((ticks(a.child.pid) - before[k].t) * 1000) / n, n };
        }),
      );
      for (const [k, u] of us.entries()) res[roots[k]].push(u.us);
      diffs.push(us[1].us - us[0].us);
      console.log(
        `round ${i + 1}: ${us.map((u, k) => `${roots[k]} ${u.us.toFixed(1)} µs/req (${u.n} req)`).join(', ')}`,
      );
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    for (const root of roots) console.log(`median ${root}: ${median(res[root]).toFixed(1)} µs/req (agent)`);
    console.log(`median difference ${roots[1]} - ${roots[0]}: ${median(diffs).toFixed(1)} µs/req`);
  } finally {
    for (const a of agents) a.child.kill('SIGKILL');
    await scope.close();
  }
  process.exit(0);
}
