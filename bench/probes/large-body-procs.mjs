// Large bodies through hub and agent in SEPARATE processes (scenario 2's topology), for several
// built checkouts in alternating rounds: per direction the median MiB/s, the hub's and the agent's
// CPU ms per 100 MiB (user + sys from /proc), their main-thread GC pauses (ms and major GCs per 100
// MiB) and their peak RSS growth. CPU per MiB holds up on a shared machine better than MiB/s does;
// the rounds alternate so both roots see the same load. GC pauses are wall time: on a loaded
// machine they include time the process was not scheduled.
//
//   node bench/probes/large-body-procs.mjs [MiB=200] [rounds=3] ROOT... (ROOT `direct`: no hub, no agent)
//
// A ROOT may carry V8 flags for its hub and agent after `::`, comma-separated, to A/B a flag on one
// checkout: `$PWD::--max-semi-space-size=32`.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bulkBody, bulkHandler } from '../lib/bulk-upstream.mjs';

const role = process.env.LBP_ROLE;
if (role) {
  const root = process.env.LBP_ROOT;
  process.on('SIGTERM', () => process.exit(0));
  // GC pauses on the main thread, by kind, answered on request: the parent asks before and after
  // each transfer. (Concurrent marking and sweeping on helper threads count in CPU, not here.)
  const gc = { minor: 0, major: 0, ms: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      else gc.minor++;
      gc.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m) => {
    if (m === 'gc?') setImmediate(() => process.send({ gc }));
  });
  if (role === 'hub') {
    const { createHub } = await import(`${root}/packages/hub/dist/index.js`);
    const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0 });
    const { url } = await hub.listen();
    process.send({ url });
  } else {
    const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
    const { hub, upstream, token } = JSON.parse(process.env.LBP_ARGS);
    const agent = createAgent({ hub, upstream, token, numWorker: 4 });
    agent.start();
    await agent.ready();
    process.send({ ready: true });
  }
} else {
  await main();
}

async function main() {
  const mib = Number(process.argv[2] ?? 200);
  const rounds = Number(process.argv[3] ?? 3);
  const roots = process.argv.slice(4);
  const here = fileURLToPath(new URL('../..', import.meta.url));
  const { request } = await import(`${here}/node_modules/undici/index.js`);
  const { signAgentToken } = await import(`${here}/packages/hub/dist/index.js`);
  const up = createServer(bulkHandler);
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  const upstream = `http://127.0.0.1:${up.address().port}`;
  const token = await signAgentToken({ secret: 's', name: 'probe' });
  const me = fileURLToPath(import.meta.url);
  const spawnRole = async (r, rootSpec, args = {}) => {
    const [root, flags = ''] = rootSpec.split('::');
    // LBP_PROF=hub|agent: that role writes a V8 CPU profile into LBP_PROF_DIR (default the cwd)
    const execArgv = [
      ...flags.split(',').filter(Boolean),
      ...(process.env.LBP_PROF === r
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LBP_PROF_DIR ?? '.'}`]
        : []),
    ];
    const child = fork(me, [], {
      execArgv,
      env: { ...process.env, LBP_ROLE: r, LBP_ROOT: root, LBP_ARGS: JSON.stringify(args) },
    });
    const [msg] = await once(child, 'message');
    return { child, msg };
  };
  const stat = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { cpu: (Number(x[11]) + Number(x[12])) * 10, rss: Number(x[21]) * 4096 };
  };
  const download = async (url, bytes) => {
    const { body, statusCode } = await request(`${url}/download?bytes=${bytes}`);
    if (statusCode !== 200) throw new Error(`download: ${statusCode} ${await body.text()}`);
    let got = 0;
    for await (const c of body) got += c.length;
    if (got !== bytes) throw new Error(`download: ${got} of ${bytes}`);
  };
  const upload = async (url, bytes) => {
    const { body } = await request(`${url}/upload`, {
      method: 'POST',
      body: bulkBody(bytes),
      headers: { 'content-length': String(bytes) },
    });
    const echoed = Number(await body.text());
    if (echoed !== bytes) throw new Error(`upload: ${echoed} of ${bytes}`);
  };
  const bytes = mib * 1024 * 1024;
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const root of roots) {
      if (root === 'direct') {
        for (const [dir, fn] of [
          ['download', download],
          ['upload', upload],
        ]) {
          await fn(upstream, 32 * 1024 * 1024);
          const t0 = performance.now();
          await fn(upstream, bytes);
          const key = `direct ${dir}`;
          if (!results.has(key)) results.set(key, []);
          results.get(key).push({
            mbps: mib / ((performance.now() - t0) / 1000),
            hub: 0,
            agent: 0,
            gcHub: 0,
            gcAgent: 0,
            mcHub: 0,
            mcAgent: 0,
            rssHub: 0,
            rssAgent: 0,
          });
        }
        continue;
      }
      const hub = await spawnRole('hub', root);
      const agent = await spawnRole('agent', root, { hub: hub.msg.url, upstream, token });
      const pids = { hub: hub.child.pid, agent: agent.child.pid };
      if (process.env.LBP_PIDS) console.log(`hub ${pids.hub} agent ${pids.agent}`);
      for (const [dir, fn] of [
        ['download', download],
        ['upload', upload],
      ]) {
        if (process.env.LBP_DIR && process.env.LBP_DIR !== dir) continue;
        // warm-up; the hub may not have registered the agent for a moment after its ready()
        for (let i = 0; ; i++) {
          try {
            await fn(hub.msg.url, 32 * 1024 * 1024);
            break;
          } catch (err) {
            if (i > 20) throw err;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        const rss0 = { hub: stat(pids.hub).rss, agent: stat(pids.agent).rss };
        const peak = { ...rss0 };
        const sampler = setInterval(() => {
          for (const k of ['hub', 'agent']) peak[k] = Math.max(peak[k], stat(pids[k]).rss);
        }, 50);
        const askGc = async () => {
          const ask = (c) => {
            c.send('gc?');
            return once(c, 'message').then(([m]) => ({ ...m.gc }));
          };
          return { hub: await ask(hub.child), agent: await ask(agent.child) };
        };
        const g0 = await askGc();
        const c0 = { hub: stat(pids.hub).cpu, agent: stat(pids.agent).cpu };
        const t0 = performance.now();
        await fn(hub.msg.url, bytes);
        const ms = performance.now() - t0;
        clearInterval(sampler);
        const per100 = (k) => ((stat(pids[k]).cpu - c0[k]) * 100) / mib;
        const cpu = { hub: per100('hub'), agent: per100('agent') };
        const g1 = await askGc();
        const gcOf = (k) => ({
          ms: ((g1[k].ms - g0[k].ms) * 100) / mib,
          major: ((g1[k].major - g0[k].major) * 100) / mib,
        });
        const key = `${root} ${dir}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push({
          mbps: mib / (ms / 1000),
          hub: cpu.hub,
          agent: cpu.agent,
          gcHub: gcOf('hub').ms,
          gcAgent: gcOf('agent').ms,
          mcHub: gcOf('hub').major,
          mcAgent: gcOf('agent').major,
          rssHub: (peak.hub - rss0.hub) / 2 ** 20,
          rssAgent: (peak.agent - rss0.agent) / 2 ** 20,
        });
      }
      agent.child.kill();
      hub.child.kill();
      await Promise.all([once(agent.child, 'exit'), once(hub.child, 'exit')]);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [key, rs] of results) {
    const f = (k, digits = 0) => med(rs.map((r) => r[k])).toFixed(digits);
    console.log(
      `${key}: ${f('mbps')} MiB/s (${rs.map((r) => r.mbps.toFixed(0)).join(', ')}); CPU ms/100 MiB hub ${f('hub')} agent ${f('agent')} (sum ${rs.map((r) => (r.hub + r.agent).toFixed(0)).join(', ')}); GC pause ms/100 MiB hub ${f('gcHub')} agent ${f('gcAgent')}, major GCs/100 MiB hub ${f('mcHub', 1)} agent ${f('mcAgent', 1)}; RSS growth hub +${f('rssHub')} agent +${f('rssAgent')} MiB`,
    );
  }
  up.close();
  process.exit(0);
}
