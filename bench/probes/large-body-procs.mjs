// Large bodies through hub and agent in SEPARATE processes (scenario 2's topology), for several
// built checkouts in alternating rounds: per direction the median MiB/s, the hub's and the agent's
// CPU ms per 100 MiB (user + sys from /proc) and their peak RSS growth. CPU per MiB holds up on a
// shared machine better than MiB/s does; the rounds alternate so both roots see the same load.
//
//   node bench/probes/large-body-procs.mjs [MiB=200] [rounds=3] ROOT... (ROOT `direct`: no hub, no agent)
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const role = process.env.LBP_ROLE;
if (role) {
  const root = process.env.LBP_ROOT;
  process.on('SIGTERM', () => process.exit(0));
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
  const CHUNK = Buffer.alloc(64 * 1024, 'x');
  const up = createServer((req, res) => {
    if (req.url.startsWith('/download')) {
      let left = Number(new URL(req.url, 'http://x').searchParams.get('bytes'));
      res.writeHead(200, { 'content-length': left });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
            return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
    });
    req.on('end', () => res.end(String(n)));
  });
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  const upstream = `http://127.0.0.1:${up.address().port}`;
  const token = await signAgentToken({ secret: 's', name: 'probe' });
  const me = fileURLToPath(import.meta.url);
  const spawnRole = async (r, root, args = {}) => {
    // LBP_PROF=hub|agent: that role writes a V8 CPU profile into LBP_PROF_DIR (default the cwd)
    const execArgv =
      process.env.LBP_PROF === r ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LBP_PROF_DIR ?? '.'}`] : [];
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
    async function* gen() {
      let left = bytes;
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        yield n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
      }
    }
    const { body } = await request(`${url}/upload`, {
      method: 'POST',
      body: Readable.from(gen()),
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
        const c0 = { hub: stat(pids.hub).cpu, agent: stat(pids.agent).cpu };
        const t0 = performance.now();
        await fn(hub.msg.url, bytes);
        const ms = performance.now() - t0;
        clearInterval(sampler);
        const per100 = (k) => ((stat(pids[k]).cpu - c0[k]) * 100) / mib;
        const key = `${root} ${dir}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push({
          mbps: mib / (ms / 1000),
          hub: per100('hub'),
          agent: per100('agent'),
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
    const f = (k) => med(rs.map((r) => r[k])).toFixed(0);
    console.log(
      `${key}: ${f('mbps')} MiB/s (${rs.map((r) => r.mbps.toFixed(0)).join(', ')}); CPU ms/100 MiB hub ${f('hub')} agent ${f('agent')} (sum ${rs.map((r) => (r.hub + r.agent).toFixed(0)).join(', ')}); RSS growth hub +${f('rssHub')} agent +${f('rssAgent')} MiB`,
    );
  }
  up.close();
  process.exit(0);
}
