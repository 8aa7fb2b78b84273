// Where a burst's time to headers goes (scenario 13's topology: upstream, load, hub + one agent
// with numWorker 1000, the lean two-hop floor, each in its own process): per path, alternating
// bursts of STREAMS, the time from the burst's start to each request's ARRIVAL at the upstream
// (one clock across processes, bench/lib/clock.mjs) and to each response head at the client. The
// gap between the two is the return path (upstream head -> proxy -> client); arrival itself is the
// forward path (client -> proxy -> new upstream connection).
//   node bench/probes/sse-burst-timeline.mjs [streams=1000] [rounds=3]
import { childScope } from '../lib/children.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { quantile } from '../lib/stats.mjs';

const streams = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 3);
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
  const agent = slime.agents[0];
  await agent.call('traceUpstream');
  const burst = async (url, procs) => {
    await upstream.call('takeSseArrivals');
    await Promise.all(procs.map((p) => p.call('gc')));
    if (procs.includes(agent)) await agent.call('traceUpstream');
    const r = await load.call('sseBurst', { url, streams });
    const gc = await Promise.all(procs.map((p) => p.call('gc')));
    const arrivals = (await upstream.call('takeSseArrivals')).map((t) => t - r.startedAt);
    const traced = procs.includes(agent) ? await agent.call('traceUpstream') : null;
    const rel = (xs) => xs.map((t) => t - r.startedAt);
    return {
      ...r,
      arrivals,
      gc,
      agentCreated: traced ? rel(traced.created) : [],
      agentHeads: traced ? rel(traced.headers) : [],
    };
  };
  for (const [, url, procs] of paths) await burst(url, procs); // JIT warm-up
  const pooled = Object.fromEntries(
    paths.map(([name]) => [
      name,
      { arrivals: [], heads: [], firsts: [], agentCreated: [], agentHeads: [], gc: [] },
    ]),
  );
  for (let i = 0; i < rounds; i++) {
    for (const [name, url, procs] of paths) {
      const r = await burst(url, procs);
      for (const k of ['arrivals', 'heads', 'firsts', 'agentCreated', 'agentHeads'])
        pooled[name][k].push(...r[k]);
      pooled[name].gc.push(r.gc);
    }
  }
  const q = (xs, p) => quantile(xs, p).toFixed(1);
  console.log(`${streams} streams, ${rounds} rounds; ms from the burst's start (p10 / p50 / p90)`);
  for (const [name] of paths) {
    const d = pooled[name];
    const cell = (xs) => `${q(xs, 0.1)} / ${q(xs, 0.5)} / ${q(xs, 0.9)}`;
    // main-thread GC per burst and process (proxy's two processes): scavenges × ms, mark-compacts × ms
    const gc = d.gc
      .map((procs) =>
        procs
          .map(
            (g) =>
              `${g.minor}×${g.minorMs.toFixed(0)} ms${g.major ? ` +${g.major} MC ${g.majorMs.toFixed(0)} ms` : ''}`,
          )
          .join(' | '),
      )
      .join('; ');
    if (d.agentCreated.length) {
      console.log(
        `${name.padEnd(13)} agent's upstream request made ${cell(d.agentCreated)}   its head at the agent ${cell(d.agentHeads)}`,
      );
    }
    console.log(
      `${name.padEnd(13)} upstream arrival ${cell(d.arrivals)}   head at client ${cell(d.heads)}   first event ${cell(d.firsts)}${gc ? `\n${''.padEnd(14)}GC per burst (front|back): ${gc}` : ''}`,
    );
  }
} finally {
  await scope.close();
}
process.exit(0);
