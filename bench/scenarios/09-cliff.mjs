// Scenario 9: shaping at a cliff (issue #21). The upstream throttles with a bare, instant 500:
// 16 requests at once in ~100 ms, no queue, every request beyond 16 refused at once, and no
// slowdown either, so latency gives no warning before the errors do. It is driven at 3x its best
// rate by closed-loop Slime-Block clients through hubs built alike: shaping off, AIMD probing
// every round trip (cliffProbeMs 0, the limiter before #21), AIMD with the plateau probe (the
// default), gradient, and AIMD + retryThrottled, in alternating rounds. Reports goodput, the
// share of answers that reached clients as 500s, p99 of the 200s at the client, and what the
// upstream itself answered (its 500s include the throttles a retrying hub re-queued).
import { alternate, med } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt } from '../lib/stats.mjs';

export const id = '9';
export const title = 'Shaping at a cliff (instant 500s past capacity, 3x load)';
export const limitS = 420;
export const quickLimitS = 90;

const MODEL = { capacity: 16, serviceMs: 100, queue: 0, penalty: 0 };
const BEST_RPS = (MODEL.capacity * 1000) / MODEL.serviceMs;
const AIMD = { mode: 'aimd', min: 1, max: 256, initial: 8 };
const group = (extra) => ({ shaping: { groups: [extra] } });
const VARIANTS = [
  { name: 'shaping off', policy: {} },
  { name: 'aimd, probe every round trip', policy: group({ limiter: { ...AIMD, cliffProbeMs: 0 } }) },
  { name: 'aimd (plateau probe)', policy: group({ limiter: AIMD }) },
  { name: 'gradient', policy: group({ limiter: { mode: 'gradient', min: 1, max: 256, initial: 8 } }) },
  {
    name: 'aimd + retryThrottled',
    policy: group({ limiter: AIMD, retryThrottled: { on: [500, 503, 429], attempts: 2 } }),
  },
];

export function available({ hubModule }) {
  if (typeof hubModule.createHub !== 'function') return '@slime/hub does not export createHub';
  try {
    // a hub that accepts the policy knows retryThrottled; nothing listens, so nothing to close
    hubModule
      .createHub({
        secret: 'probe',
        policy: { shaping: { groups: [{ limiter: AIMD, retryThrottled: {} }] } },
      })
      .destroy();
    return true;
  } catch {
    return '@slime/hub has no retryThrottled (issue #21)';
  }
}

export async function run({ quick, scope }) {
  const upstream = await startUpstream(scope, { fragile: MODEL });
  const load = await scope.spawn('load');
  const variants = [];
  for (const v of VARIANTS) {
    // Agents with more workers than clients: only shaping stands between clients and upstream.
    const slime = await startSlime(scope, upstream.info.url, { numWorker: 128, policy: v.policy });
    variants.push({ ...v, url: slime.url, pids: slime.pids, hub: slime.hub });
  }
  const clients = 3 * MODEL.capacity;
  const ms = quick ? 3000 : 10_000;
  const rounds = quick ? 2 : 3;
  const headers = { 'slime-block': '1' };
  await load.call('loop', { url: upstream.info.url, path: '/fragile', clients: 1, ms: 1000 });
  const unloaded = await upstream.call('takeFragileStats');
  // Warm-up: each limiter meets the cliff before the measured rounds.
  for (const v of variants.slice(1)) {
    await load.call('loop', { url: v.url, path: '/fragile', clients, ms: quick ? 1000 : 2000, headers });
  }
  await upstream.call('takeFragileStats');
  const retriesBefore = new Map();
  const out = await alternate(variants, rounds, async (v) => {
    const before = retriesBefore.get(v.name) ?? (await v.hub.call('shapingStats'))[0]?.throttleRetries ?? 0;
    const r = await load.call('loop', { url: v.url, path: '/fragile', clients, ms, headers });
    const up = await upstream.call('takeFragileStats');
    const shaping = (await v.hub.call('shapingStats'))[0];
    retriesBefore.set(v.name, shaping?.throttleRetries ?? 0);
    const ok = r.statuses['200'] ?? 0;
    const seconds = r.ms / 1000;
    return {
      rps: ok / seconds,
      goodput: ok / seconds / BEST_RPS,
      share500: (r.statuses['500'] ?? 0) / Math.max(1, r.requests + r.errors),
      otherErrors: r.requests - ok - (r.statuses['500'] ?? 0) + r.errors,
      clientP99: r.okP99,
      upstreamP99: up.p99Ms,
      upstream500ps: up.errors / seconds,
      resends: ((shaping?.throttleRetries ?? 0) - before) / seconds,
      limit: shaping?.limit,
      cliff: shaping?.cliffLimit,
    };
  });
  const pct = (x, d = 1) => `${fmt(100 * x, d)}%`;
  const rows = variants.map((v) => {
    const r = out[v.name];
    const limits = r.map((x) => x.limit).filter((x) => x !== undefined);
    return [
      v.name,
      fmt(med(r, 'rps')),
      pct(med(r, 'goodput')),
      pct(med(r, 'share500'), 2),
      fmt(med(r, 'clientP99'), 1),
      fmt(med(r, 'upstream500ps'), 1),
      v.name.includes('retryThrottled') ? fmt(med(r, 'resends'), 1) : '-',
      limits.length ? limits.map((l) => fmt(l, 1)).join(', ') : '-',
      Math.max(...r.map((x) => x.otherErrors)),
    ];
  });
  const byName = Object.fromEntries(rows.map((row) => [row[0], row]));
  return {
    headline: [
      [
        '500s reaching Slime-Block clients at a 3x cliff',
        `off ${byName['shaping off'][3]}, aimd before #21 ${byName['aimd, probe every round trip'][3]}, plateau ${byName['aimd (plateau probe)'][3]}, + retryThrottled ${byName['aimd + retryThrottled'][3]} (goodput ${byName['aimd + retryThrottled'][2]})`,
      ],
    ],
    tables: [
      {
        title: `${clients} closed-loop Slime-Block clients, ${rounds} alternating rounds of ${ms / 1000} s; upstream C=${MODEL.capacity} at ${MODEL.serviceMs} ms, no queue, instant 500 past C (best ${BEST_RPS} req/s), unloaded p99 ${fmt(unloaded.p99Ms, 1)} ms`,
        columns: [
          'hub',
          '200/s',
          'goodput',
          '500s to clients',
          'client p99 ms',
          'upstream 500/s',
          're-sent/s',
          'limit at round ends',
          'other errors',
        ],
        rows,
      },
    ],
    notes: [
      '"500s to clients" is the share of all answers the clients got as 500; "upstream 500/s" counts every throttle the upstream answered, including those a retryThrottled hub re-queued instead of passing on.',
      'client p99 is over the 200s and includes the wait in the hub, which Slime-Block clients chose; "other errors" (must stay 0 here) are any other status or a failed request.',
    ],
    data: { out, unloaded },
  };
}
