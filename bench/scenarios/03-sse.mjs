// Scenario 3: server-sent events, one every 10 ms, on several concurrent streams: the delay from
// the upstream writing an event to the client reading it, direct vs hub+agent. The added delay is
// the difference of the two (same clock, both processes on this machine).
import { alternate } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, quantile } from '../lib/stats.mjs';

export const id = '3';
export const title = 'Streaming (SSE, one event every 10 ms)';
export const limitS = 120;
export const quickLimitS = 30;

export async function run({ quick, scope }) {
  const streams = 8;
  const ms = quick ? 2000 : 5000;
  const rounds = quick ? 2 : 3;
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 16 });
  const variants = [
    { name: 'direct', url: upstream.info.url, pids: [upstream.pid] },
    { name: 'hub+agent', url: slime.url, pids: slime.pids },
  ];
  const res = await alternate(variants, rounds, async (v) => {
    const { delays } = await load.call('sse', { url: v.url, streams, ms, everyMs: 10 });
    return { delays, requests: delays.length };
  });
  const all = Object.fromEntries(variants.map((v) => [v.name, res[v.name].flatMap((r) => r.delays)]));
  const q = (name, p) => quantile(all[name], p);
  const rows = variants.map((v) => [
    v.name,
    all[v.name].length,
    fmt(q(v.name, 0.5), 3),
    fmt(q(v.name, 0.99), 3),
    v.name === 'direct' ? '-' : fmt(q(v.name, 0.5) - q('direct', 0.5), 3),
    v.name === 'direct' ? '-' : fmt(q(v.name, 0.99) - q('direct', 0.99), 3),
  ]);
  return {
    tables: [
      {
        title: `${streams} streams × ${ms / 1000} s, ${rounds} alternating rounds`,
        columns: ['path', 'events', 'delay p50 ms', 'delay p99 ms', 'added p50 ms', 'added p99 ms'],
        rows,
      },
    ],
    notes: [
      'delay = client read time - upstream write time (performance.timeOrigin + now() in both processes).',
    ],
    data: {
      p50: { direct: q('direct', 0.5), hub: q('hub+agent', 0.5) },
      p99: { direct: q('direct', 0.99), hub: q('hub+agent', 0.99) },
    },
  };
}
