// Scenario 6: a GPU-like single-slot upstream (one request at a time, 20 ms each, 500 when given
// two) behind one agent with numWorker 1, fed by 8 blocking clients (Slime-Block: 1). Reports the
// upstream's utilisation (busy time / wall time), overlaps (must be 0), and the issue-5 wake-up
// latency: the gap between one request ending at the upstream and the next one starting there,
// which spans agent -> hub (END returns the slot) -> hub dispatches the next queued request ->
// agent -> upstream. Direct with one sequential client is the floor for comparison.
import { alternate } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, quantile, sum } from '../lib/stats.mjs';

export const id = '6';
export const title = 'Single-slot upstream and wake-up latency';
export const limitS = 120;
export const quickLimitS = 30;

export async function run({ quick, scope }) {
  const ms = quick ? 2000 : 5000;
  const rounds = quick ? 2 : 3;
  const upstream = await startUpstream(scope, { slotMs: 20 });
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 1 });
  const variants = [
    { name: 'direct (1 client)', url: upstream.info.url, pids: [upstream.pid], clients: 1, headers: {} },
    {
      name: 'hub+agent (8 blocking clients)',
      url: slime.url,
      pids: slime.pids,
      clients: 8,
      headers: { 'slime-block': '1' },
    },
  ];
  await upstream.call('takeSlotLog');
  const res = await alternate(variants, rounds, async (v) => {
    const r = await load.call('loop', {
      url: v.url,
      path: '/slot',
      clients: v.clients,
      ms,
      headers: v.headers,
    });
    const { log, overlaps } = await upstream.call('takeSlotLog');
    const gaps = log.slice(1).map((e, i) => e.start - log[i].end);
    const wall = log.length ? log.at(-1).end - log[0].start : Number.NaN;
    return {
      requests: log.length,
      busy: sum(log.map((e) => e.end - e.start)),
      wall,
      gaps,
      overlaps,
      non200: Object.entries(r.statuses).reduce((s, [k, c]) => s + (k === '200' ? 0 : c), 0) + r.errors,
    };
  });
  const rows = variants.map((v) => {
    const r = res[v.name];
    const gaps = r.flatMap((x) => x.gaps);
    return [
      v.name,
      sum(r.map((x) => x.requests)),
      `${fmt((100 * sum(r.map((x) => x.busy))) / sum(r.map((x) => x.wall)), 1)}%`,
      fmt(quantile(gaps, 0.5), 3),
      fmt(quantile(gaps, 0.99), 3),
      sum(r.map((x) => x.overlaps)),
      sum(r.map((x) => x.non200)),
    ];
  });
  const hubGaps = res[variants[1].name].flatMap((x) => x.gaps);
  const headline = [
    [
      'wake-up latency (slot freed at upstream -> next queued request at upstream)',
      `p50 ${fmt(quantile(hubGaps, 0.5), 3)} ms, p99 ${fmt(quantile(hubGaps, 0.99), 3)} ms; utilisation ${rows[1][2]}, overlaps ${rows[1][5]}`,
    ],
  ];
  return {
    headline,
    tables: [
      {
        title: `${rounds} alternating rounds of ${ms / 1000} s`,
        columns: [
          'path',
          'served',
          'utilisation',
          'wake-up gap p50 ms',
          'gap p99 ms',
          'overlaps (must be 0)',
          'non-200',
        ],
        rows,
      },
    ],
    notes: [
      'gap = next request starts at the upstream - previous one ended there. Through the hub it is the ' +
        'issue-5 wake-up latency (slot freed -> next queued request reaches the upstream); direct it is one client round trip.',
    ],
    data: res,
  };
}
