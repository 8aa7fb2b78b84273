// A/B of the AGENT's CPU per small request between built checkouts: one upstream and one hub
// (this checkout) in their own processes, then, in alternating rounds, an agent process (64 slots,
// the CLI's default logger) from each root in turn under wrk -c32 (scenario 1's shape). The
// agent's user+sys time is read from /proc over the measured window, so the hub's and the
// upstream's shares (the same for every root) stay out of the figure.
//   node bench/probes/agent-ab.mjs ROUNDS ROOT_A ROOT_B [...]   (env WARM=2 SECS=5)
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childScope } from '../lib/children.mjs';
import { cpuSplitMs } from '../lib/proc-stats.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';

const [roundsS, ...roots] = process.argv.slice(2);
const warm = Number(process.env.WARM ?? 2);
const secs = Number(process.env.SECS ?? 5);
const self = fileURLToPath(import.meta.url);

if (roundsS === '--child') {
  // The agent child: argv root, hub url, upstream url, token.
  const [root, hub, upstream, token] = roots;
  const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
  const { openSync, writeSync } = await import('node:fs');
  const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
  const fd = openSync('/dev/null', 'w');
  const logger = createLogger({ level: 'info', format: 'json', write: (l) => writeSync(fd, l) });
  const agent = createAgent({ token, hub, upstream, numWorker: 64, logger });
  agent.start();
  await agent.ready();
  process.send('ready');
  process.on('disconnect', () => process.exit(0));
} else {
  const ticks = cpuSplitMs;
  const scope = childScope();
  const upstream = await startUpstream(scope);
  const hub = await scope.spawn('hub', { secret: SECRET, options: {}, log: 'info' });
  const token = await agentToken();
  const wrk = async (s) => {
    const { stdout } = await promisify(execFile)('wrk', ['-t1', '-c32', `-d${s}s`, hub.info.url]);
    return Number(/(\d+) requests in/.exec(stdout)[1]);
  };
  const res = Object.fromEntries(roots.map((r) => [r, []]));
  try {
    for (let i = 0; i < Number(roundsS); i++) {
      for (const root of roots) {
        const child = fork(self, ['--child', resolve(root), hub.info.url, upstream.info.url, token], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        await once(child, 'message');
        await wrk(warm);
        const t0 = ticks(child.pid);
        const n = await wrk(secs);
        const t1 = ticks(child.pid);
        const user = ((t1.user - t0.user) * 1000) / n;
        const sys = ((t1.sys - t0.sys) * 1000) / n;
        res[root].push(user + sys);
        console.log(
          `round ${i + 1} ${root}: ${(user + sys).toFixed(1)} µs/req (user ${user.toFixed(1)} + sys ${sys.toFixed(1)}, ${n} requests)`,
        );
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
        await new Promise((r) => setTimeout(r, 300)); // the hub sees the agent leave
      }
    }
  } finally {
    await scope.close();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  for (const root of roots) console.log(`median ${root}: ${median(res[root]).toFixed(1)} µs/req (agent)`);
  process.exit(0);
}
