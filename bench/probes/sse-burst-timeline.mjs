// Where a burst's time to headers goes (scenario 13's topology: upstream, load, hub + one agent
// with numWorker 1000, the lean two-hop floor, each in its own process): per path, alternating
// bursts of STREAMS, the time from the burst's start (one clock across processes,
// bench/lib/clock.mjs) to each stage of each stream, in the order a stream passes them:
//   front parsed      the hub or lean front began the request (node:http)
//   back made         the agent or lean back made its undici request
//   back connected    a new upstream connection of the back was up (once the connections are warm,
//                     these are undici's reconnects after the burst's cancels, so later than the heads)
//   back sent         the back wrote the request's head to the upstream
//   at upstream       the upstream saw the request (its ARRIVAL)
//   back got head     the upstream's response head reached the back
//   front flushed     the front flushed the head to its client
//   head at client    the client read the head
// Each is a distribution over all streams (p10 / p50 / p90), not one stream followed through, so
// compare medians stage to stage. Stages come from bench/lib/stage-trace.mjs.
//   node bench/probes/sse-burst-timeline.mjs [streams=1000] [rounds=3]
import { childScope } from '../lib/children.mjs';
import { settleAfterBurst } from '../lib/settle.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { quantile } from '../lib/stats.mjs';

const streams = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 3);
const STAGES = [
  ['front parsed', 'requests'],
  ['back made', 'created'],
  ['back connected', 'connected'],
  ['back sent', 'sent'],
  ['at upstream', 'arrivals'],
  ['back got head', 'headers'],
  ['front flushed', 'flushed'],
  ['head at client', 'heads'],
  ['first event', 'firsts'],
];
const scope = childScope();
try {
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, {
    numWorker: Number(process.env.NUM_WORKER ?? 1000),
  });
  const { front, back } = await startLean(scope, upstream.info.url, { connections: 1000 });
  const paths = [
    ['direct', upstream.info.url, []],
    ['lean two-hop', front.info.url, [front, back]],
    ['hub+agent', slime.url, [slime.hub, slime.agents[0]]],
  ];
  const everyPid = [upstream.pid, load.pid, ...slime.pids, front.pid, back.pid];
  const trace = ([f, b] = []) => Promise.all([f?.call('traceServer') ?? {}, b?.call('traceUpstream') ?? {}]);
  for (const [, , procs] of paths) await trace(procs); // subscribe
  const burst = async (url, procs) => {
    await upstream.call('takeSseArrivals');
    await Promise.all(procs.map((p) => p.call('gc')));
    await trace(procs);
    const r = await load.call('sseBurst', { url, streams });
    await settleAfterBurst(upstream, everyPid); // as scenario 13: no burst shares the cores with the last one's teardown
    const gc = await Promise.all(procs.map((p) => p.call('gc')));
    const arrivals = await upstream.call('takeSseArrivals');
    const [served, called] = await trace(procs);
    const rel = (xs = []) => xs.map((t) => t - r.startedAt);
    return {
      heads: r.heads,
      firsts: r.firsts,
      arrivals: rel(arrivals),
      requests: rel(served.requests),
      flushed: rel(served.heads),
      created: rel(called.created),
      connected: rel(called.connected),
      sent: rel(called.sent),
      headers: rel(called.headers),
      gc,
    };
  };
  // Two warm-up bursts per path: the JIT, and the backs' upstream connections. The first burst
  // after start connects all of them and the second still some; later ones find them warm.
  for (let i = 0; i < 2; i++) for (const [, url, procs] of paths) await burst(url, procs);
  const pooled = Object.fromEntries(
    paths.map(([name]) => [name, { gc: [], ...Object.fromEntries(STAGES.map(([, k]) => [k, []])) }]),
  );
  for (let i = 0; i < rounds; i++) {
    for (const [name, url, procs] of paths) {
      const r = await burst(url, procs);
      for (const [, k] of STAGES) pooled[name][k].push(...r[k]);
      pooled[name].gc.push(r.gc);
    }
  }
  const q = (xs, p) => quantile(xs, p).toFixed(1).padStart(6);
  const cell = (xs) => (xs.length ? `${q(xs, 0.1)} / ${q(xs, 0.5)} / ${q(xs, 0.9)}` : '');
  console.log(`${streams} streams, ${rounds} rounds; ms from the burst's start (p10 / p50 / p90)`);
  console.log(`${''.padEnd(16)}${paths.map(([name]) => name.padEnd(26)).join('')}`);
  for (const [label, k] of STAGES) {
    console.log(`${label.padEnd(16)}${paths.map(([name]) => cell(pooled[name][k]).padEnd(26)).join('')}`);
  }
  // main-thread GC per burst and process (front | back): scavenges × ms, mark-compacts × ms
  for (const [name] of paths.slice(1)) {
    const gc = pooled[name].gc
      .map((procs) =>
        procs
          .map(
            (g) =>
              `${g.minor}×${g.minorMs.toFixed(0)} ms${g.major ? ` +${g.major} MC ${g.majorMs.toFixed(0)} ms` : ''}`,
          )
          .join(' | '),
      )
      .join('; ');
    console.log(`GC per burst, ${name} (front | back): ${gc}`);
  }
} finally {
  await scope.close();
}
process.exit(0);
