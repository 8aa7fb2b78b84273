// The AGENT's CPU per new stream in bursts of SSE streams (scenario 13's shape), A/B between built
// checkouts: one upstream, one hub (this checkout) and the load generator in their own processes,
// then, in alternating rounds, an agent process (numWorker 1000, no logger, as scenario 13) from
// each root in turn. Each round warms the agent with WARM bursts (JIT), then runs BURSTS bursts of STREAMS
// streams (the client leaves after the first event, as scenario 13). The agent's user+sys time is
// read from /proc over the measured bursts, so the hub's and the upstream's shares stay out.
//   node bench/probes/agent-burst-ab.mjs ROUNDS ROOT_A [ROOT_B ...]   (env STREAMS=1000 BURSTS=3 WARM=3)
// AGENT_FLAGS='--flag ...' gives the agent processes node flags.
// PAIR=1: both roots' agents at once (see pair() below); ROUNDS x BURSTS bursts.
// STRACE=FILE counts the first root's agent's system calls over the measured bursts (strace -c).
// PERF=FILE records the agent of the first root's rounds with `perf record -g` (--perf-basic-prof).
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childScope } from '../lib/children.mjs';
import { cpuSplitMs } from '../lib/proc-stats.mjs';
import { agentToken, SECRET, startUpstream } from '../lib/setup.mjs';

const [roundsS, ...roots] = process.argv.slice(2);
const streams = Number(process.env.STREAMS ?? 1000);
const bursts = Number(process.env.BURSTS ?? 3);
const warm = Number(process.env.WARM ?? 3);
const self = fileURLToPath(import.meta.url);

if (roundsS === '--child') {
  const [root, hub, upstream, token] = roots;
  const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
  const agent = createAgent({
    token,
    hub,
    upstream,
    numWorker: 1000,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
  });
  let calls = 0;
  agent.on('callFinished', () => calls++);
  agent.start();
  await agent.ready();
  process.on('message', () => {
    const c = process.cpuUsage();
    // the main thread alone (schedstat: ns on CPU), without V8's compiler and GC helper threads
    const main = Number(
      readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0],
    );
    process.send({ calls, cpuUs: c.user + c.system, mainUs: main / 1000 });
  });
  process.send('ready');
  process.on('disconnect', () => process.exit(0));
} else if (process.env.PAIR) {
  await pair();
} else {
  const ticks = cpuSplitMs;
  const scope = childScope();
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const hub = await scope.spawn('hub', { secret: SECRET, options: {} });
  const token = await agentToken();
  const res = Object.fromEntries(roots.map((r) => [r, []]));
  const heads = Object.fromEntries(roots.map((r) => [r, []]));
  try {
    for (let i = 0; i < Number(roundsS); i++) {
      for (const root of roots) {
        const perf = process.env.PERF && root === roots[0];
        const child = fork(self, ['--child', resolve(root), hub.info.url, upstream.info.url, token], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          execArgv: [
            ...(perf ? ['--perf-basic-prof'] : []),
            ...(process.env.AGENT_FLAGS ? process.env.AGENT_FLAGS.split(' ') : []),
          ],
        });
        await once(child, 'message');
        for (let w = 0; w < warm; w++) await load.call('sseBurst', { url: hub.info.url, streams });
        let rec;
        if (process.env.STRACE && root === roots[0]) {
          const out = `${process.env.STRACE}.${i}`;
          rec = spawn(
            'strace',
            [...(process.env.STRACE_FULL ? ['-tt'] : ['-c']), '-f', '-p', String(child.pid), '-o', out],
            { stdio: 'ignore' },
          );
          await new Promise((r) => setTimeout(r, 300));
        }
        if (perf) {
          const out = `${process.env.PERF}.${i}`;
          rec = spawn(
            'perf',
            ['record', '-q', '-g', '-e', 'cpu-clock:u', '-F', '2000', '-p', String(child.pid), '-o', out],
            { stdio: 'ignore' },
          );
          await new Promise((r) => setTimeout(r, 300));
        }
        const t0 = ticks(child.pid);
        const hs = [];
        for (let b = 0; b < bursts; b++) {
          const r = await load.call('sseBurst', { url: hub.info.url, streams });
          hs.push(r.heads.sort((x, y) => x - y)[Math.floor(r.heads.length / 2)]);
          if (r.failed) console.log(`  ${r.failed} failed`);
        }
        const t1 = ticks(child.pid);
        if (rec) {
          rec.kill('SIGINT');
          await once(rec, 'exit');
        }
        const n = streams * bursts;
        const user = ((t1.user - t0.user) * 1000) / n;
        const sys = ((t1.sys - t0.sys) * 1000) / n;
        res[root].push(user + sys);
        heads[root].push(...hs);
        console.log(
          `round ${i + 1} ${root}: ${(user + sys).toFixed(0)} µs/stream (user ${user.toFixed(0)} + sys ${sys.toFixed(0)}), heads p50 ${hs.map((h) => h.toFixed(0)).join(' ')} ms`,
        );
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    await scope.close();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  for (const root of roots)
    console.log(
      `median ${root}: ${median(res[root]).toFixed(0)} µs/stream (agent), heads p50 ${median(heads[root]).toFixed(0)} ms`,
    );
  process.exit(0);
}

/**
 * PAIR=1: one agent per root attached to the hub AT THE SAME TIME, so both see the same machine
 * load; the hub spreads each burst over both (credits), and each agent's streams are its finished
 * calls. Prints µs per stream per root per burst and the median of the per-burst differences.
 */
async function pair() {
  const scope = childScope();
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const hub = await scope.spawn('hub', { secret: SECRET, options: {} });
  const token = await agentToken();
  const agents = [];
  try {
    for (const root of roots) {
      const child = fork(self, ['--child', resolve(root), hub.info.url, upstream.info.url, token], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await once(child, 'message');
      agents.push(child);
    }
    // finished calls and CPU µs (process.cpuUsage: finer than /proc's 10 ms ticks)
    const stats = (child) => {
      child.send('count');
      return once(child, 'message').then(([m]) => m);
    };
    for (let w = 0; w < warm; w++) await load.call('sseBurst', { url: hub.info.url, streams });
    const res = roots.map(() => []);
    const mains = roots.map(() => []);
    const diffs = [];
    const mainDiffs = [];
    for (let b = 0; b < Number(roundsS) * bursts; b++) {
      const before = await Promise.all(agents.map(stats));
      const r = await load.call('sseBurst', { url: hub.info.url, streams });
      // the cancels finish after the client has left: let them land before reading the counters
      await new Promise((ok) => setTimeout(ok, 500));
      const us = await Promise.all(
        agents.map(async (c, k) => {
          const after = await stats(c);
          const n = after.calls - before[k].calls;
          return { us: (after.cpuUs - before[k].cpuUs) / n, main: (after.mainUs - before[k].mainUs) / n, n };
        }),
      );
      for (const [k, u] of us.entries()) res[k].push(u.us);
      for (const [k, u] of us.entries()) mains[k].push(u.main);
      diffs.push(us[1].us - us[0].us);
      mainDiffs.push(us[1].main - us[0].main);
      console.log(
        `burst ${b + 1}: ${us.map((u, k) => `${roots[k]} ${u.us.toFixed(0)} µs/stream (main thread ${u.main.toFixed(0)}, ${u.n})`).join(', ')}${r.failed ? `, ${r.failed} failed` : ''}`,
      );
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    for (const [k, root] of roots.entries())
      console.log(
        `median ${root}: ${median(res[k]).toFixed(0)} µs/stream (agent), main thread ${median(mains[k]).toFixed(0)}`,
      );
    console.log(
      `median difference ${roots[1]} - ${roots[0]}: ${median(diffs).toFixed(0)} µs/stream, main thread ${median(mainDiffs).toFixed(0)}`,
    );
  } finally {
    for (const c of agents) c.kill('SIGKILL');
    await scope.close();
  }
  process.exit(0);
}
