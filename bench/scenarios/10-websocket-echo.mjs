// Scenario 10: WebSocket echo round trip. Clients hold open sockets to a `ws` echo upstream, one
// message in flight per socket, direct vs through hub+agent (protocol 3 upgraded streams). The
// added latency is the difference of the two round-trip times measured in alternating rounds.
import { alternate } from '../lib/measure.mjs';
import { startSlime } from '../lib/setup.mjs';
import { fmt, quantile } from '../lib/stats.mjs';

export const id = '10';
export const title = 'WebSocket echo round trip (upgraded streams)';
export const limitS = 120;
export const quickLimitS = 40;

export async function run({ quick, scope }) {
  const sockets = 16;
  const ms = quick ? 2000 : 5000;
  const rounds = quick ? 2 : 3;
  const upstream = await scope.spawn('ws-echo');
  const load = await scope.spawn('ws-load');
  // Upgrades take a worker slot only for their handshake: 4 slots carry 16 sockets.
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 4 });
  const variants = [
    { name: 'direct', url: upstream.info.url, pids: [upstream.pid] },
    { name: 'hub+agent', url: slime.url, pids: slime.pids },
  ];
  const res = await alternate(variants, rounds, async (v) => {
    const { rtts } = await load.call('echo', { url: v.url, sockets, ms });
    return { rtts, requests: rtts.length };
  });
  const all = Object.fromEntries(variants.map((v) => [v.name, res[v.name].flatMap((r) => r.rtts)]));
  const q = (name, p) => quantile(all[name], p);
  const cpu = (name) => {
    const r = res[name];
    const n = r.reduce((s, x) => s + x.requests, 0);
    return n ? (r.reduce((s, x) => s + x.cpuMs, 0) * 1000) / n : Number.NaN;
  };
  const rows = variants.map((v) => [
    v.name,
    all[v.name].length,
    fmt(q(v.name, 0.5), 3),
    fmt(q(v.name, 0.99), 3),
    v.name === 'direct' ? '-' : fmt(q(v.name, 0.5) - q('direct', 0.5), 3),
    v.name === 'direct' ? '-' : fmt(q(v.name, 0.99) - q('direct', 0.99), 3),
    fmt(cpu(v.name), 1),
  ]);
  return {
    tables: [
      {
        title: `${sockets} sockets, 64-byte messages, one in flight each, ${ms / 1000} s × ${rounds} alternating rounds`,
        columns: [
          'path',
          'round trips',
          'rtt p50 ms',
          'rtt p99 ms',
          'added p50 ms',
          'added p99 ms',
          'CPU µs/msg',
        ],
        rows,
      },
    ],
    notes: [
      'rtt = client send -> echo received, same process clock. CPU µs/msg: the serving processes (upstream for direct, hub + agent otherwise).',
    ],
    data: {
      p50: { direct: q('direct', 0.5), hub: q('hub+agent', 0.5) },
      p99: { direct: q('direct', 0.99), hub: q('hub+agent', 0.99) },
    },
  };
}
