// Scenario 12: gRPC unary calls (12-byte messages) from a grpc-js client, direct to a grpc-js
// server vs through hub+agent (the client speaks h2c prior knowledge to the hub, the agent speaks
// h2c to the `h2c://` upstream, status and trailers across protocol 3). Alternating rounds.
import { alternate, cpuUsPerRequest, roundRatio } from '../lib/measure.mjs';
import { cpuMs } from '../lib/proc-stats.mjs';
import { startSlime } from '../lib/setup.mjs';
import { fmt, fmtRatio, quantile } from '../lib/stats.mjs';

export const id = '12';
export const title = 'gRPC unary calls (grpc-js, h2c upstream)';
export const limitS = 180;
export const quickLimitS = 60;

export async function run({ quick, scope }) {
  const concurrency = 32;
  const ms = quick ? 2000 : 5000;
  const rounds = quick ? 2 : 3;
  const upstream = await scope.spawn('grpc-echo');
  const load = await scope.spawn('grpc-load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 32 });
  const hubTarget = new URL(slime.url).host;
  const variants = [
    { name: 'direct', target: upstream.info.target, pids: [upstream.pid] },
    { name: 'hub+agent', target: hubTarget, pids: slime.pids },
  ];
  // Warm-up: connections, and the JIT. Seconds, not a few hundred ms: hub and agent run far more
  // JavaScript per call than the echo server, and while V8 is still compiling it (and collecting
  // the young heap) its helper threads took half of their CPU: 300 ms of warm-up measured them at
  // about twice their steady cost per call (bench/probes/grpc-unary-cost.mjs, WARM_MS=300 vs 5000).
  const warmMs = quick ? 3000 : 5000;
  for (const v of variants) await load.call('unary', { target: v.target, concurrency, ms: warmMs });
  // CPU of each process on its own: which one a change helped, and the client's share too
  const procs = { client: load.pid, upstream: upstream.pid, hub: slime.hub.pid, agent: slime.agents[0].pid };
  const split = Object.fromEntries(variants.map((v) => [v.name, { calls: 0, ms: {} }]));
  const res = await alternate(variants, rounds, async (v) => {
    const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
    const r = await load.call('unary', { target: v.target, concurrency, ms });
    const s = split[v.name];
    s.calls += r.requests;
    for (const [k, pid] of Object.entries(procs)) s.ms[k] = (s.ms[k] ?? 0) + cpuMs(pid) - before[k];
    return { ...r, rps: r.requests / r.seconds };
  });
  const perCall = (name, k) =>
    split[name].calls ? (split[name].ms[k] * 1000) / split[name].calls : Number.NaN;
  const splitNote = (name, keys) =>
    `${name}: ${keys.map((k) => `${k} ${fmt(perCall(name, k), 0)}`).join(', ')}`;
  const all = Object.fromEntries(variants.map((v) => [v.name, res[v.name].flatMap((r) => r.latencies)]));
  const rps = (name) => res[name].reduce((s, r) => s + r.rps, 0) / res[name].length;
  const errors = (name) => res[name].reduce((s, r) => s + r.errors, 0);
  const rows = variants.map((v) => [
    v.name,
    fmt(rps(v.name)),
    v.name === 'direct' ? '-' : fmtRatio(roundRatio(res[v.name], res.direct, 'rps')),
    fmt(quantile(all[v.name], 0.5), 2),
    fmt(quantile(all[v.name], 0.99), 2),
    fmt(cpuUsPerRequest(res[v.name]), 1),
    errors(v.name),
  ]);
  return {
    tables: [
      {
        title: `${concurrency} unary calls in flight on one channel, 12-byte messages, ${ms / 1000} s × ${rounds} alternating rounds`,
        columns: ['path', 'calls/s', 'vs direct', 'p50 ms', 'p99 ms', 'CPU µs/call', 'errors'],
        rows,
      },
    ],
    notes: [
      'hub+agent: numWorker 32, one agent; the client holds one HTTP/2 connection to the hub, the agent one h2c connection per slot to the upstream. CPU µs/call: the serving processes (upstream for direct, hub + agent otherwise).',
      `CPU µs/call per process (${warmMs / 1000} s warm-up per path first): ${splitNote('direct', ['client', 'upstream'])}; ${splitNote('hub+agent', ['client', 'hub', 'agent', 'upstream'])}.`,
    ],
    data: {
      rps: { direct: rps('direct'), hub: rps('hub+agent') },
      ratio: roundRatio(res['hub+agent'], res.direct, 'rps'),
      p50: { direct: quantile(all.direct, 0.5), hub: quantile(all['hub+agent'], 0.5) },
      p99: { direct: quantile(all.direct, 0.99), hub: quantile(all['hub+agent'], 0.99) },
      cpuUsPerCall: Object.fromEntries(
        variants.map((v) => [
          v.name,
          Object.fromEntries(Object.keys(procs).map((k) => [k, perCall(v.name, k)])),
        ]),
      ),
    },
  };
}
