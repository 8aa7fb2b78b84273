// Scenario 4: many idle agents on one hub (1,000, then 10,000, in --quick too; BENCH_IDLE_AGENTS
// sets other counts), all from one child process of raw WebSocket clients that send HELLO and
// nothing else. Reports the hub's RSS per connected agent, its CPU while they sit idle
// (heartbeats), and request latency through a real agent on the same hub before and with them
// connected. bench/probes/idle-agents.mjs measures the same in small, with the heap and GC.
import { cpuMs, rssBytes } from '../lib/proc-stats.mjs';
import { agentToken, startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, mb } from '../lib/stats.mjs';

export const id = '4';
export const title = 'Idle agents';
export const limitS = 300;
export const quickLimitS = 45;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run({ quick, scope }) {
  // BENCH_IDLE_AGENTS=2000,5000 runs other steps (ascending), to try a change on a busy machine.
  const steps = process.env.BENCH_IDLE_AGENTS?.split(',').map(Number) ?? [1000, 10_000];
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 16 });
  const hubPid = slime.hub.pid;
  const idle = await scope.spawn('idle-agents', { hub: slime.url, token: await agentToken('idle') });
  const probe = () => load.call('loop', { url: slime.url, clients: 4, ms: quick ? 1500 : 3000 });
  // Heartbeats run every 5 s, so idle CPU needs a 10 s window; --quick skips it.
  const idleCpu = async () => {
    if (quick) return Number.NaN;
    const c0 = cpuMs(hubPid);
    await sleep(10_000);
    return (cpuMs(hubPid) - c0) / 10;
  };

  await probe(); // warm-up
  const base = { rss: rssBytes(hubPid), lat: await probe(), cpu: await idleCpu() };
  const rows = [
    ['0', '-', fmt(mb(base.rss), 1), '-', fmt(base.cpu, 1), fmt(base.lat.p50, 2), fmt(base.lat.p99, 2)],
  ];
  const data = { base, steps: [] };
  let connected = 0;
  for (const n of steps) {
    const r = await idle.call('connect', { n: n - connected }, 120_000);
    connected += r.connected;
    const stats = await slime.hub.call('stats');
    await sleep(500); // let the handshake garbage go before reading RSS
    const rss = rssBytes(hubPid);
    const cpu = await idleCpu();
    const lat = await probe();
    data.steps.push({ n, ...r, hubAgents: stats.agents, rss, cpu, lat });
    rows.push([
      `${fmt(connected)}${r.failed ? ` (${r.failed} failed)` : ''}`,
      fmt(r.ms / 1000, 1),
      fmt(mb(rss), 1),
      fmt((rss - base.rss) / connected / 1024, 1),
      fmt(cpu, 1),
      fmt(lat.p50, 2),
      fmt(lat.p99, 2),
    ]);
  }
  return {
    tables: [
      {
        columns: [
          'idle agents',
          'connect time s',
          'hub RSS MiB',
          'hub KiB per agent',
          'hub idle CPU ms/s',
          'req p50 ms',
          'req p99 ms',
        ],
        rows,
      },
    ],
    notes: [
      'Latency: 4 sequential clients through the one real agent (numWorker 16) on the same hub.',
      'Not alternated (the agents stay connected); compare the rows with each other.',
    ],
    data,
  };
}
