// Scenario 10: applications sharing one scarce upstream (issue #22). A GPU-like single-slot
// upstream (one request at a time, 20 ms each) behind one agent with numWorker 1. Three
// applications send closed-loop Slime-Block requests at once: "heavy" and "light" with 20 clients
// each (both flood), "interactive" with one client. The same load runs through a hub without
// applications (one FIFO, as before #22) and through a hub with apps heavy:light:interactive
// weighted 3:1:1 (deficit round robin), in alternating rounds. Reports each app's share of what
// the upstream served and its latency at the client (wait in the hub + 20 ms of service).
import { alternate, med } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, quantile } from '../lib/stats.mjs';

export const id = '11';
export const title = 'Fair queueing across applications (one slot, two floods and an interactive app)';
export const limitS = 180;
export const quickLimitS = 60;

const APPS = [
  { name: 'heavy', weight: 3, clients: 20 },
  { name: 'light', weight: 1, clients: 20 },
  { name: 'interactive', weight: 1, clients: 1 },
];
const WARM_MS = 1000;
const keyOf = (name) => `slime_app_bench-${name}-key-0123456789abcdef`;

export function available({ hubModule }) {
  if (typeof hubModule.hashAppKey !== 'function') return '@slime/hub has no applications (issue #22)';
  return true;
}

export async function run({ quick, scope, hubModule }) {
  const upstream = await startUpstream(scope, { slotMs: 20 });
  const load = await scope.spawn('load');
  const apps = APPS.map((a) => ({
    name: a.name,
    weight: a.weight,
    keys: [{ hash: hubModule.hashAppKey(keyOf(a.name)) }],
  }));
  const fifo = await startSlime(scope, upstream.info.url, { numWorker: 1 });
  const fair = await startSlime(scope, upstream.info.url, { numWorker: 1, policy: { apps } });
  const variants = [
    // Without an apps section the hub ignores Slime-App-Key (it is stripped like every Slime-* field).
    { name: 'FIFO (no apps)', url: fifo.url, pids: fifo.pids },
    { name: 'fair (weights 3:1:1)', url: fair.url, pids: fair.pids },
  ];
  const ms = quick ? 6000 : 15_000;
  const rounds = quick ? 1 : 3;
  await upstream.call('takeSlotLog');
  const out = await alternate(variants, rounds, async (v) => {
    const results = await Promise.all(
      APPS.map((a) =>
        load.call('loop', {
          url: v.url,
          path: '/slot',
          clients: a.clients,
          ms,
          headers: { 'slime-block': '1', 'slime-app-key': keyOf(a.name) },
          timeline: true,
        }),
      ),
    );
    const { overlaps } = await upstream.call('takeSlotLog');
    // Only the steady part counts: from WARM_MS after the last loop started (every queue full)
    // until the first loop's end (after it, clients stop and the queues drain).
    const from = Math.max(...results.map((r) => r.t0)) + WARM_MS;
    const to = Math.min(...results.map((r) => r.t0)) + ms;
    const steady = results.map((r) => r.okTimeline.filter(([at]) => at >= from && at <= to));
    const served = steady.map((s) => s.length);
    const total = served.reduce((x, y) => x + y, 0);
    const row = { requests: total, overlaps, errors: 0 };
    for (const [i, a] of APPS.entries()) {
      const r = results[i];
      const lat = steady[i].map(([, l]) => l);
      row[`${a.name}Share`] = served[i] / Math.max(1, total);
      row[`${a.name}PerS`] = served[i] / ((to - from) / 1000);
      row[`${a.name}P50`] = quantile(lat, 0.5);
      row[`${a.name}P99`] = quantile(lat, 0.99);
      row.errors += r.requests - (r.statuses['200'] ?? 0) + r.errors;
    }
    return row;
  });
  const pct = (x) => `${fmt(100 * x, 1)}%`;
  const rows = [];
  for (const a of APPS) {
    const cells = [`${a.name} (${a.clients} client${a.clients > 1 ? 's' : ''}, weight ${a.weight})`];
    for (const v of variants) {
      const r = out[v.name];
      cells.push(
        pct(med(r, `${a.name}Share`)),
        fmt(med(r, `${a.name}PerS`), 1),
        fmt(med(r, `${a.name}P50`)),
        fmt(med(r, `${a.name}P99`)),
      );
    }
    rows.push(cells);
  }
  const f = out[variants[0].name];
  const g = out[variants[1].name];
  return {
    headline: [
      [
        'interactive app beside two floods on one slot: p99 latency',
        `FIFO ${fmt(med(f, 'interactiveP99'))} ms, fair ${fmt(med(g, 'interactiveP99'))} ms; heavy:light served ${fmt(med(g, 'heavyShare') / Math.max(1e-9, med(g, 'lightShare')), 2)}:1 (weights 3:1)`,
      ],
    ],
    tables: [
      {
        title: `closed-loop Slime-Block clients for ${ms / 1000} s x ${rounds} round(s), counted from ${WARM_MS / 1000} s to the end (not the drain after it); single-slot upstream, 20 ms per request`,
        columns: [
          'application',
          ...variants.flatMap((v) => [`${v.name}: share`, 'req/s', 'p50 ms', 'p99 ms']),
        ],
        rows,
      },
    ],
    notes: [
      "share = the app's part of the 200s completed in the steady window; p50/p99 are client latencies of those 200s (time in the hub's queue + 20 ms service).",
      `overlaps at the upstream (must be 0): ${Math.max(...[...f, ...g].map((x) => x.overlaps))}; non-200 answers or failures: ${Math.max(...[...f, ...g].map((x) => x.errors))}.`,
    ],
    data: { out },
  };
}
