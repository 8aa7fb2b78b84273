// Scenario 8: overload and shaping. The demo's fragile upstream (16 requests at once in ~100 ms,
// 8 more queued, then bare 500s; work beyond capacity slows it down) is driven at 3x its best
// rate by closed-loop clients through two hubs built alike, one without shaping and one with an
// AIMD limiter, alternating rounds. Reports goodput (200s per second against the upstream's best),
// the share of 500s, and p99 latency of the 200s both at the client (including the wait in the
// hub, which Slime-Block clients chose) and at the upstream (what shaping protects).
import { alternate, med } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt } from '../lib/stats.mjs';

export const id = '8';
export const title = 'Overload and shaping (3x capacity)';
export const limitS = 300;
export const quickLimitS = 60;

const MODEL = { capacity: 16, serviceMs: 100, queue: 8, penalty: 0.5 };
const BEST_RPS = (MODEL.capacity * 1000) / MODEL.serviceMs;
const SHAPING = {
  groups: [{ limiter: { mode: 'aimd', min: 1, max: 256, initial: 8, latencyThresholdMs: 125 } }],
};

export function available({ hubModule }) {
  return typeof hubModule.createHub === 'function' ? true : '@slime/hub does not export createHub';
}

export async function run({ quick, scope }) {
  const upstream = await startUpstream(scope, { fragile: MODEL });
  const load = await scope.spawn('load');
  // Agents with more workers than clients: only shaping stands between clients and upstream.
  const off = await startSlime(scope, upstream.info.url, { numWorker: 128, policy: {} });
  const on = await startSlime(scope, upstream.info.url, { numWorker: 128, policy: { shaping: SHAPING } });
  const clients = 3 * MODEL.capacity;
  const ms = quick ? 3000 : 10_000;
  const rounds = quick ? 2 : 3;
  const headers = { 'slime-block': '1' };
  // Unloaded reference: one client at a time, straight to the upstream.
  await load.call('loop', { url: upstream.info.url, path: '/fragile', clients: 1, ms: 1000 });
  const unloaded = await upstream.call('takeFragileStats');
  const variants = [
    { name: 'shaping off', url: off.url, pids: off.pids, hub: off.hub },
    { name: 'shaping on (aimd)', url: on.url, pids: on.pids, hub: on.hub },
  ];
  // Warm-up: the limiter learns the upstream before the measured rounds.
  await load.call('loop', { url: on.url, path: '/fragile', clients, ms: 2000, headers });
  await upstream.call('takeFragileStats');
  const limits = [];
  const out = await alternate(variants, rounds, async (v) => {
    const r = await load.call('loop', { url: v.url, path: '/fragile', clients, ms, headers });
    const up = await upstream.call('takeFragileStats');
    const shaping = await v.hub.call('shapingStats');
    if (shaping[0]) limits.push(shaping[0].limit);
    const ok = r.statuses['200'] ?? 0;
    return {
      rps: ok / (r.ms / 1000),
      goodput: ok / (r.ms / 1000) / BEST_RPS,
      errorShare: (r.requests - ok + r.errors) / Math.max(1, r.requests + r.errors),
      clientP99: r.okP99,
      upstreamP99: up.p99Ms,
      peakHeld: up.peakHeld,
    };
  });
  const row = (v) => {
    const r = out[v.name];
    return [
      v.name,
      fmt(med(r, 'rps')),
      `${fmt(100 * med(r, 'goodput'), 1)}%`,
      `${fmt(100 * med(r, 'errorShare'), 1)}%`,
      fmt(med(r, 'clientP99'), 1),
      fmt(med(r, 'upstreamP99'), 1),
      `${fmt(med(r, 'upstreamP99') / unloaded.p99Ms, 2)}x`,
      Math.max(...r.map((x) => x.peakHeld)),
    ];
  };
  const rows = variants.map(row);
  const meanLimit = limits.length ? limits.reduce((a, b) => a + b, 0) / limits.length : Number.NaN;
  return {
    headline: [
      [
        'goodput at 3x overload, shaping off vs on',
        `${rows[0][2]} vs ${rows[1][2]} of the upstream's best; upstream p99 ${rows[0][6]} vs ${rows[1][6]} unloaded; 500s ${rows[0][3]} vs ${rows[1][3]}`,
      ],
    ],
    tables: [
      {
        title: `${clients} closed-loop Slime-Block clients, ${rounds} alternating rounds of ${ms / 1000} s; upstream C=${MODEL.capacity} at ${MODEL.serviceMs} ms (best ${BEST_RPS} req/s), unloaded p99 ${fmt(unloaded.p99Ms, 1)} ms; AIMD limit at round ends ${limits.map((l) => fmt(l, 1)).join(', ')} (mean ${fmt(meanLimit, 1)})`,
        columns: [
          'hub',
          '200/s',
          'goodput',
          '500s',
          'client p99 ms',
          'upstream p99 ms',
          'vs unloaded',
          'peak held at upstream',
        ],
        rows,
      },
    ],
    data: { out, unloaded, limits },
  };
}
