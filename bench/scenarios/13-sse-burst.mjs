// Scenario 13: bursts of SSE streams (issue #19). N streams opened at the same instant through
// one agent with numWorker 1000, against the same burst sent straight to the upstream and through
// the lean two-hop floor (bench/lean-two-hop.mjs, streaming): the time
// from the burst's start to each stream's response head and to its first event. The upstream
// sends its head at once and an event every 100 ms, so "first event" includes up to 100 ms of
// waiting for the upstream's timer on both paths.
import { alternate } from '../lib/measure.mjs';
import { settleAfterBurst } from '../lib/settle.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, quantile } from '../lib/stats.mjs';

export const id = '13';
export const title = 'Bursts of SSE streams (time to headers and first event)';
export const limitS = 180;
export const quickLimitS = 90;

/** Median over rounds of each process's CPU per stream, "hub / agent / upstream" (upstream alone direct). */
function cpuPerStream(results, streams) {
  const perPid = results[0].cpuMsByPid.map((_, i) =>
    quantile(
      results.map((r) => (r.cpuMsByPid[i] * 1000) / streams),
      0.5,
    ),
  );
  return perPid.map((us) => fmt(us, 0)).join(' / ');
}

export async function run({ quick, scope }) {
  const sizes = [100, 500, 1000];
  const rounds = quick ? 1 : 3;
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 1000 });
  // The floor (bench/lean-two-hop.mjs streams a response without a length), with as many upstream
  // connections as the agent's 1,000 slots.
  const lean = await startLean(scope, upstream.info.url, { connections: 1000 });
  const variants = [
    { name: 'direct', url: upstream.info.url, pids: [upstream.pid] },
    { name: 'lean two-hop', url: lean.url, pids: [...lean.pids, upstream.pid] },
    // the upstream last: its share is comparable with the direct path's
    { name: 'hub+agent', url: slime.url, pids: [...slime.pids, upstream.pid] },
  ];
  // Warm-up: every size once on each path. A fresh hub spends about half its CPU of its first few
  // hundred streams compiling (perf: v8's compiler and unoptimised code); one burst of 100 left the
  // 500- and 1,000-stream rows measuring JIT warm-up rather than a running hub.
  const warmSizes = (process.env.BENCH_SSE_WARMUP ?? sizes.join(',')).split(',').filter(Boolean).map(Number);
  // Every burst waits for the one before to be torn down everywhere (bench/lib/settle.mjs), so no
  // path pays for the previous path's cancels and reconnects.
  const everyPid = [...new Set([load.pid, ...variants.flatMap((v) => v.pids)])];
  // BENCH_SSE_SETTLE=0: no wait (as before 2026-12-02), to A/B the wait itself
  const settled =
    process.env.BENCH_SSE_SETTLE === '0' ? async () => {} : () => settleAfterBurst(upstream, everyPid);
  for (const streams of warmSizes)
    for (const v of variants) {
      await load.call('sseBurst', { url: v.url, streams });
      await settled();
    }
  const rows = [];
  const data = {};
  for (const streams of sizes) {
    const res = await alternate(variants, rounds, async (v) => {
      const r = await load.call('sseBurst', { url: v.url, streams });
      await settled();
      return { ...r, requests: streams };
    });
    data[streams] = res;
    const pooled = (name, key) => res[name].flatMap((r) => r[key]);
    const q = (name, key, p) => quantile(pooled(name, key), p);
    for (const v of variants) {
      const failed = res[v.name].reduce((n, r) => n + r.failed, 0);
      const direct = v.name === 'direct';
      rows.push([
        streams,
        v.name,
        fmt(q(v.name, 'heads', 0.5), 1),
        fmt(q(v.name, 'heads', 0.99), 1),
        direct ? '-' : `${fmt(q(v.name, 'heads', 0.5) / q('direct', 'heads', 0.5), 2)}x`,
        fmt(q(v.name, 'firsts', 0.5), 1),
        fmt(q(v.name, 'firsts', 0.99), 1),
        direct ? '-' : fmt(q(v.name, 'firsts', 0.5) - q('direct', 'firsts', 0.5), 1),
        cpuPerStream(res[v.name], streams),
        failed,
      ]);
    }
  }
  const last = sizes.at(-1);
  const h = (name) =>
    quantile(
      data[last][name].flatMap((r) => r.heads),
      0.5,
    );
  return {
    headline: [
      [
        `${last} SSE streams at once: median time to headers, hub+agent vs direct`,
        `${fmt(h('hub+agent'), 0)} ms vs ${fmt(h('direct'), 0)} ms (${fmt(h('hub+agent') / h('direct'), 2)}x; lean two-hop ${fmt(h('lean two-hop') / h('direct'), 2)}x)`,
      ],
    ],
    tables: [
      {
        title: `one agent, numWorker 1000; ${rounds} alternating round(s) per size`,
        columns: [
          'streams',
          'path',
          'headers p50 ms',
          'headers p99 ms',
          'headers p50 vs direct',
          'first event p50 ms',
          'first event p99 ms',
          'first event added p50 ms',
          'CPU µs/stream (hub / agent / upstream; lean: front / back / upstream)',
          'failed (must be 0)',
        ],
        rows,
      },
    ],
    notes: [
      'Times run from the moment the client starts the burst. The upstream flushes its head at once and sends an event every 100 ms.',
      'CPU per stream is read from /proc over each burst (10 ms ticks) and its teardown: each burst starts only once the one before has ended everywhere (no SSE stream open at the upstream, then the processes idle; bench/lib/settle.mjs), so it includes closing the streams the client left.',
    ],
    data,
  };
}
