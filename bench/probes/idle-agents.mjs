// Scenario 4 in small, with the hub in this process so that V8 flags (--trace-gc, --expose-gc) and
// heap snapshots apply to it: what N idle agents cost the hub (heap and RSS per agent, idle CPU,
// GC) and whether a request's slow samples line up with GC pauses or long timer callbacks
// (heartbeat slices). Upstream, one real agent (16 slots), the load loop and the idle agents run
// in child processes (the latter two from this checkout; only the hub comes from ROOT).
//
//   node --expose-gc bench/probes/idle-agents.mjs [ROOT] [agents=2000] [rounds=2] [ms=3000]
//
// Each round measures request latency with no idle agents, connects the agents, measures idle CPU
// and latency again, then disconnects them (alternating, unlike scenario 4). HEAP_SNAPSHOT=DIR
// writes DIR/idle-0.heapsnapshot and DIR/idle-N.heapsnapshot in the first round
// (`node bench/probes/idle-heap-diff.mjs A B N` compares them per constructor). IDLE_MS sets the
// idle-CPU window (default 5000: a heartbeat interval); IDLE_PROF=FILE writes a CPU profile of the
// first round's idle window (self time by function: `node bench/probes/cpuprofile-inclusive.mjs`). NO_GC=1 forces no GCs (scenario 4's timing,
// with IDLE_MS=10000: V8's own major GCs, such as the memory reducer's, may then fall in a window).
import { fork } from 'node:child_process';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { childScope } from '../lib/children.mjs';
import { quantile } from '../lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (process.argv[2] === '--load') {
  // The load loop: `clients` sequential requests each; every sample as [end (epoch ms), latency].
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 60_000 });
  process.on('message', async ({ url, clients, ms }) => {
    const samples = [];
    const end = performance.now() + ms;
    const one = async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const { body } = await request(url, { dispatcher });
        await body.dump();
        const t1 = performance.now();
        samples.push([performance.timeOrigin + t1, t1 - t]);
      }
    };
    await Promise.all(Array.from({ length: clients }, one));
    process.send(samples);
  });
} else {
  await main();
}

async function main() {
  const root = process.argv[2] ?? '.';
  const n = Number(process.argv[3] ?? 2000);
  const rounds = Number(process.argv[4] ?? 2);
  const ms = Number(process.argv[5] ?? 3000);
  const idleMs = Number(process.env.IDLE_MS ?? 5000);
  const absRoot = new URL(`${root}/`, `file://${process.cwd()}/`).pathname;

  // Long timer callbacks (the heartbeat slices run on setTimeout): wrapped before the hub loads.
  const spans = [];
  const timerCpu = []; // CPU ms of each timer callback (wall time on a busy machine includes preemption)
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, delay, ...args) =>
    realSetTimeout(
      (...a) => {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        try {
          return fn(...a);
        } finally {
          const d = performance.now() - t0;
          const c = process.cpuUsage(c0);
          timerCpu.push((c.user + c.system) / 1000);
          if (d > 0.25) spans.push([performance.timeOrigin + t0, d]);
        }
      },
      delay,
      ...args,
    );
  const gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, kind: e.detail?.kind ?? e.kind });
    }
  }).observe({ entryTypes: ['gc'] });

  const { createHub, signAgentToken } = await import(`${absRoot}packages/hub/dist/index.js`);
  const scope = childScope();
  const load = fork(SELF, ['--load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0, metrics: { defaultMetrics: false } });
    const { url } = await hub.listen();
    const upstream = await scope.spawn('upstream');
    await scope.spawn('agent', {
      token: await signAgentToken({ secret: 's', name: 'real' }),
      hub: url,
      upstream: upstream.info.url,
      numWorker: 16,
    });
    const idleToken = await signAgentToken({ secret: 's', name: 'idle' });
    const loop = (clients, loopMs) =>
      new Promise((resolve) => {
        load.once('message', resolve);
        load.send({ url: `${url}/`, clients, ms: loopMs });
      });
    // NO_GC=1: no forced GCs, so V8 schedules its own as in scenario 4 (heap figures get rough)
    const forceGc = process.env.NO_GC !== '1';
    const heap = () => {
      if (forceGc) globalThis.gc?.();
      if (forceGc) globalThis.gc?.();
      const m = process.memoryUsage();
      return { heap: m.heapUsed, rss: m.rss, heapTotal: m.heapTotal, external: m.external };
    };
    /** Latency over one window, and what its slowest 1% overlapped. */
    const measure = async () => {
      gcs.length = 0;
      spans.length = 0;
      timerCpu.length = 0;
      const samples = await loop(4, ms);
      const lats = samples.map((s) => s[1]);
      const p99 = quantile(lats, 0.99);
      const slow = samples.filter((s) => s[1] >= p99);
      const overlaps = (list, [end, lat]) => list.some((g) => g.at < end && g.at + g.ms > end - lat);
      const gcList = gcs.map((g) => ({ at: g.at, ms: g.ms, kind: g.kind }));
      const spanList = spans.map(([at, d]) => ({ at, ms: d }));
      const byKind = (k) => gcList.filter((g) => g.kind === k);
      return {
        requests: lats.length,
        p50: quantile(lats, 0.5),
        p99,
        max: Math.max(...lats),
        slow: slow.length,
        slowInGc: slow.filter((s) => overlaps(gcList, s)).length,
        slowInMajor: slow.filter((s) => overlaps(byKind(4), s)).length,
        slowInTimer: slow.filter((s) => overlaps(spanList, s)).length,
        minorGcs: byKind(1).length,
        minorMs: byKind(1).reduce((a, g) => a + g.ms, 0),
        majorGcs: byKind(4).length + byKind(8).length,
        majorMaxMs: Math.max(0, ...byKind(4).map((g) => g.ms)),
        longTimers: spanList.length,
        longTimerMaxMs: Math.max(0, ...spanList.map((s) => s.ms)),
        timers: timerCpu.length,
        timerCpuMs: timerCpu.reduce((x, y) => x + y, 0),
        timerCpuMaxMs: Math.max(0, ...timerCpu),
        timerCpuP99Ms: quantile(timerCpu, 0.99),
      };
    };
    const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
    const line = (label, m) =>
      console.log(
        `${label.padEnd(14)} req ${String(m.requests).padStart(6)}  p50 ${f(m.p50)}  p99 ${f(m.p99)}  max ${f(m.max, 1)} ms | ` +
          `slowest 1% (${m.slow}) in GC ${m.slowInGc} (major ${m.slowInMajor}), in long timer ${m.slowInTimer} | ` +
          `scavenges ${m.minorGcs} (${f(m.minorMs, 1)} ms), major ${m.majorGcs} (max ${f(m.majorMaxMs, 1)} ms), timers >0.25ms ${m.longTimers} (max ${f(m.longTimerMaxMs)} ms); ` +
          `timer CPU ${f(m.timerCpuMs, 1)} ms in ${m.timers} callbacks (p99 ${f(m.timerCpuP99Ms)}, max ${f(m.timerCpuMaxMs)} ms)`,
      );

    await loop(4, 1500); // warm-up
    console.log(`root ${root}: ${n} idle agents, ${rounds} rounds, ${ms} ms windows`);
    for (let r = 0; r < rounds; r++) {
      const m0 = heap();
      if (r === 0 && process.env.HEAP_SNAPSHOT)
        writeHeapSnapshot(`${process.env.HEAP_SNAPSHOT}/idle-0.heapsnapshot`);
      line(`round ${r} idle 0`, await measure());
      const idle = await scope.spawn('idle-agents', { hub: url, token: idleToken });
      const c = await idle.call('connect', { n }, 120_000);
      await sleep(forceGc ? 1000 : 500);
      const m1 = heap();
      if (r === 0 && process.env.HEAP_SNAPSHOT)
        writeHeapSnapshot(`${process.env.HEAP_SNAPSHOT}/idle-${n}.heapsnapshot`);
      gcs.length = 0;
      const profiler = r === 0 && process.env.IDLE_PROF ? await startProfile() : null;
      const cpu0 = process.cpuUsage();
      await sleep(idleMs);
      const cpu1 = process.cpuUsage(cpu0);
      if (profiler) await profiler.stop(process.env.IDLE_PROF);
      const idleGcMs = gcs.reduce((a, g) => a + g.ms, 0);
      console.log(
        `round ${r} connected ${c.connected} in ${f(c.ms / 1000, 1)} s: heap ${f((m1.heap - m0.heap) / c.connected / 1024)} KiB/agent, ` +
          `RSS ${f((m1.rss - m0.rss) / c.connected / 1024)} KiB/agent (heap ${f(m1.heap / 2 ** 20, 1)} MiB; ` +
          `per agent: heap committed ${f((m1.heapTotal - m0.heapTotal) / c.connected / 1024)} KiB, ` +
          `external ${f((m1.external - m0.external) / c.connected / 1024)} KiB), ` +
          `idle CPU ${f((cpu1.user + cpu1.system) / 1000 / (idleMs / 1000), 1)} ms/s, idle GC ${gcs.length} (${f(idleGcMs, 1)} ms)`,
      );
      line(`round ${r} idle ${n}`, await measure());
      await idle.kill();
      await vWaitAgents(hub, 1);
    }
  } finally {
    load.kill();
    await scope.close();
    process.exit(0);
  }
}

/** A V8 CPU profile of this process from now until `stop(file)` (the idle window). */
async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** Waits until the hub counts `count` agents (the idle ones' sockets closed). */
async function vWaitAgents(hub, count) {
  while (hub.agents().length > count) await sleep(50);
}
