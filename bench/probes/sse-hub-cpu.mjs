// The HUB's CPU per stream of an SSE burst (scenario 13's shape), A/B: a hub from each built
// checkout in THIS process (so process.cpuUsage counts only the hub that served the burst, and
// --cpu-prof shows both by file path), each with its own agent (this checkout's, numWorker 1000)
// in a child; one upstream and the load generator (scenario 13's sseBurst) in children.
// Alternates bursts between the hubs and prints medians: time to headers, to the first event,
// and hub / agent CPU µs per stream (agent read from /proc: 10 ms ticks). ALLOC_PROF=FILE (one
// ROOT) writes an allocation profile of the measured bursts (bench/lib/alloc-profile.mjs).
//   node [--cpu-prof] bench/probes/sse-hub-cpu.mjs ROOT_A [ROOT_B] [streams=500] [bursts=8]
// A ROOT may carry createHub options after `::` as JSON, to A/B an option on one checkout:
// `$PWD $PWD::{"http2":false}`.
import { resolve } from 'node:path';
import { startAllocProfile } from '../lib/alloc-profile.mjs';
import { childScope } from '../lib/children.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';

const args = process.argv.slice(2);
const roots = args.filter((a) => !/^\d+$/.test(a));
const [streams = 500, bursts = 8] = args.filter((a) => /^\d+$/.test(a)).map(Number);
const scope = childScope();
const upstream = await startUpstream(scope);
const load = await scope.spawn('load');
const token = await agentToken();
const hubs = [];
for (const arg of roots) {
  const [dir, json] = arg.split('::');
  const root = resolve(dir);
  const { createHub } = await import(`${root}/packages/hub/dist/index.js`);
  const hub = createHub({
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    metrics: { defaultMetrics: false },
    ...(json ? JSON.parse(json) : {}),
  });
  const { url } = await hub.listen();
  const agent = await scope.spawn('agent', { token, hub: url, upstream: upstream.info.url, numWorker: 1000 });
  hubs.push({ root: arg, hub, url, agent, res: [] });
}
const burst = (url, n = streams) => load.call('sseBurst', { url, streams: n });
// warm-up: JIT of both hubs (a few hundred streams run mostly unoptimised code), the agents'
// upstream pools; WARM_STREAMS sets the warm-up bursts' size (default max(streams, 500))
const warm = Number(process.env.WARM_STREAMS ?? Math.max(streams, 500));
for (let i = 0; i < 3; i++) for (const h of hubs) await burst(h.url, warm);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const stopAllocProfile = await startAllocProfile();
const t0 = process.hrtime.bigint() / 1000n;
const cpu0 = process.cpuUsage();
for (let i = 0; i < bursts; i++) {
  for (const h of i % 2 ? [...hubs].reverse() : hubs) {
    const a0 = cpuMs(h.agent.pid);
    const c0 = process.cpuUsage();
    globalThis.__FWLIMIT = process.env.FWLIMIT && h === hubs[1] ? Number(process.env.FWLIMIT) : undefined;
    if (process.env.TRACE) globalThis.__tr = { req: [], open: [], flush: [], head: [] };
    const r = await burst(h.url);
    // let the cancels of the streams the client left land in this burst
    await new Promise((res) => setTimeout(res, 100));
    const c = process.cpuUsage(c0);
    if (globalThis.__tr) {
      // a hub built with the trace hooks (see TRACE): ms since the first request of the burst
      const tr = globalThis.__tr;
      globalThis.__tr = undefined;
      const z = tr.req[0];
      const q = (a, p) => (a.length ? (a[Math.floor((a.length - 1) * p)] - z).toFixed(1) : '-');
      const flushes = tr.flush.filter((t) => t <= tr.head.at(-1));
      console.log(
        `  trace: requests ${q(tr.req, 0)}/${q(tr.req, 0.5)}/${q(tr.req, 1)} opens ${q(tr.open, 0)}/${q(tr.open, 0.5)}/${q(tr.open, 1)} ` +
          `flushes ${flushes.length} first ${q(flushes, 0)} heads ${q(tr.head, 0)}/${q(tr.head, 0.5)}/${q(tr.head, 1)} ms`,
      );
    }
    h.res.push({
      head: median(r.heads),
      first: median(r.firsts),
      hubUs: (c.user + c.system) / streams,
      agentUs: ((cpuMs(h.agent.pid) - a0) * 1000) / streams,
      failed: r.failed,
    });
  }
}
const t1 = process.hrtime.bigint() / 1000n;
const cpu = process.cpuUsage(cpu0);
await stopAllocProfile();
// for cpuprofile-inclusive.mjs (with one ROOT): the measured window on the profile's clock
console.log(`window ${t0} ${t1} streams ${streams * bursts * hubs.length} cpuUs ${cpu.user + cpu.system}`);
for (const h of hubs) {
  const m = (k) => median(h.res.map((r) => r[k]));
  console.log(
    `${h.root} x${streams}: headers p50 ${m('head').toFixed(1)} ms, first ${m('first').toFixed(1)} ms, ` +
      `hub ${m('hubUs').toFixed(0)} µs/stream, agent ${m('agentUs').toFixed(0)} µs/stream, ` +
      `failed ${h.res.reduce((n, r) => n + r.failed, 0)}`,
  );
  if (process.env.SERIES) console.log('  hub', h.res.map((r) => Math.round(r.hubUs)).join(' '));
}
await scope.close();
for (const h of hubs) await h.hub.close();
process.exit(0);
