// The hub of scenario 1 in this process (so node flags such as --trace-deopt apply to it), with the
// upstream and one agent (64 slots) in child processes, under wrk -c32.
//   node [flags] bench/probes/hub-alone.mjs [warm s=5] [measure s=10]
// With --cpu-prof, bench/probes/cpuprofile-inclusive.mjs reads the profile over the measured window;
// BENCH_CPU_PROF=DIR profiles the agent's process too. POLICY=ten gives the hub scenario 7's ten
// rules (none trips).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as hubModule from '@slime/hub';
import { startAllocProfile } from '../lib/alloc-profile.mjs';
import { childScope } from '../lib/children.mjs';
import { applyCliHeapTuning } from '../lib/cli-heap.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';
import { which } from '../lib/tools.mjs';

applyCliHeapTuning(); // as `slime hub run` (and the bench's hub role) do
const [warm = 5, secs = 10] = process.argv.slice(2).map(Number);
const run = promisify(execFile);
const scope = childScope();
const upstream = await startUpstream(scope);
const { cliLogger } = await import('../lib/cli-logger.mjs');
const hub = hubModule.createHub({
  secret: SECRET,
  host: '127.0.0.1',
  port: 0,
  metrics: { defaultMetrics: false },
  logger: cliLogger(process.env.LOG_LEVEL ?? 'info'),
  ...(process.env.POLICY === 'ten'
    ? { policy: (await import('../scenarios/07-policy-cost.mjs')).TEN_RULES }
    : {}),
});
const { url } = await hub.listen();
const agent = await scope.spawn('agent', {
  token: await agentToken(),
  hub: url,
  upstream: upstream.info.url,
  numWorker: 64,
  log: 'info',
});
const wrk = (s) =>
  run(which('wrk'), ['-t1', '-c32', `-d${s}s`, url]).then((r) => /(\d+) requests in/.exec(r.stdout)[1]);
console.error(`warm-up: ${await wrk(warm)} requests`);
// IDLE_MS: a pause after the warm-up, as between the bench's alternating rounds
if (process.env.IDLE_MS) await new Promise((r) => setTimeout(r, Number(process.env.IDLE_MS)));
console.error('--- measuring');
const stopAllocProfile = await startAllocProfile();
const t0 = process.hrtime.bigint() / 1000n;
const c0 = process.cpuUsage();
const a0 = cpuMs(agent.pid);
const n = await wrk(secs);
const c = process.cpuUsage(c0);
await stopAllocProfile();
const agentUs = (cpuMs(agent.pid) - a0) * 1000;
const t1 = process.hrtime.bigint() / 1000n;
console.error(
  `${n} requests, hub ${((c.user + c.system) / n).toFixed(1)} µs/req, agent ${(agentUs / n).toFixed(1)} µs/req`,
);
// For cpuprofile-inclusive.mjs: the measured window on the profile's clock (monotonic µs).
console.error(`window ${t0} ${t1} requests ${n} cpuUs ${c.user + c.system} agentCpuUs ${agentUs}`);
await scope.close();
await hub.close();
process.exit(0);
