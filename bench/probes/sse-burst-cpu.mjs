// CPU per NEW stream of a burst (issue #19, scenario 13's in-process twin): upstream, hub and one
// agent (numWorker 1000) in this process, the client in a child process, so process.cpuUsage
// counts only upstream (direct) or upstream+hub+agent (hub+agent). Alternates direct and hub+agent
// bursts and prints medians: time to headers, to the first event, and CPU µs per stream.
//   node bench/probes/sse-burst-cpu.mjs ROOT [streams=100] [bursts=8] [mode=sse]
// Modes separate where a new stream's set-up cost goes:
//   sse        as scenario 13: the head at once, an event every 100 ms, the client leaves after the
//              first event (destroys its connection; the agent's upstream connection dies with the
//              cancelled call, and undici reconnects about half of them at once by itself)
//   newclient  the upstream ends each response after one event; the client reads it to the end,
//              then closes its connections after the burst: new client connections to the hub,
//              warm connections from the agent to the upstream
//   warm       as newclient, but the client keeps its connections: a new stream on warm
//              connections on both hops
// WARM_STREAMS=N makes the warm-up burst N streams. LOG=info gives hub and agent the CLI's JSON logger (to /dev/null); default: none.
import { fork } from 'node:child_process';
import { openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--load') {
  await load(process.argv[3]);
} else {
  await main();
}

async function main() {
  const { startChain } = await import('../lib/in-process.mjs');
  const [root, streamsS = '100', burstsS = '8', mode = 'sse'] = process.argv.slice(2);
  const streams = Number(streamsS);
  const bursts = Number(burstsS);
  const logOpts = {};
  if (process.env.LOG) {
    const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
    const fd = openSync('/dev/null', 'w');
    const logger = () =>
      createLogger({ level: process.env.LOG, format: 'json', write: (l) => writeSync(fd, l) });
    logOpts.hubOptions = { logger: logger() };
    logOpts.agentOptions = { logger: logger() };
  }
  const handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (mode === 'sse') {
      const timer = setInterval(() => res.write('data: x\n\n'), 100);
      res.on('close', () => clearInterval(timer));
    } else {
      setTimeout(() => res.end('data: x\n\n'), 100);
    }
  };
  const chain = await startChain(root, handler, { numWorker: 1000, ...logOpts });
  const child = fork(fileURLToPath(import.meta.url), ['--load', root], { execArgv: [] });
  const replies = [];
  child.on('message', (m) => replies.shift()?.(m));
  const call = (url, n = streams) =>
    new Promise((resolve) => {
      replies.push(resolve);
      child.send({ url, streams: n, fresh: mode !== 'warm', leave: mode === 'sse' });
    });
  // ONLY=hub+agent (or direct) runs one variant: for a profiler attached to this process
  const variants = [
    ['direct', chain.upUrl],
    ['hub+agent', chain.url],
  ].filter(([name]) => !process.env.ONLY || name === process.env.ONLY);
  let upConns = 0;
  chain.up.on('connection', () => upConns++);
  // warm-up: JIT, pools (WARM_STREAMS: a bigger first burst leaves the agent more connections than
  // the measured bursts need)
  for (const [, url] of variants) await call(url, Number(process.env.WARM_STREAMS ?? streams));
  const res = Object.fromEntries(variants.map(([name]) => [name, []]));
  for (let i = 0; i < bursts; i++) {
    for (const [name, url] of variants) {
      const c0 = process.cpuUsage();
      const u0 = upConns;
      const r = await call(url);
      const c = process.cpuUsage(c0);
      res[name].push({
        ...r,
        cpuUs: (c.user + c.system) / streams,
        sysUs: c.system / streams,
        upConns: (upConns - u0) / streams,
      });
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const out = {};
  for (const name of Object.keys(res)) {
    out[name] = {
      headsMs: median(res[name].map((r) => r.head50)),
      firstsMs: median(res[name].map((r) => r.first50)),
      cpuUsPerStream: median(res[name].map((r) => r.cpuUs)),
      sysUsPerStream: median(res[name].map((r) => r.sysUs)),
      // connections the upstream accepted during the burst, per stream (direct: the client's)
      upConnsPerStream: median(res[name].map((r) => r.upConns)),
      failed: res[name].reduce((n, r) => n + r.failed, 0),
    };
  }
  const d = out.direct;
  const h = out['hub+agent'];
  if (process.env.ONLY) {
    console.log(JSON.stringify(out));
    child.kill();
    await chain.close();
    process.exit(0);
  }
  console.log(
    `${mode} x${streams}: headers ${h.headsMs.toFixed(1)} vs ${d.headsMs.toFixed(1)} ms (${(h.headsMs / d.headsMs).toFixed(2)}x), ` +
      `first ${h.firstsMs.toFixed(1)} vs ${d.firstsMs.toFixed(1)} ms, ` +
      `CPU/stream ${h.cpuUsPerStream.toFixed(0)} (sys ${h.sysUsPerStream.toFixed(0)}) vs ${d.cpuUsPerStream.toFixed(0)} (sys ${d.sysUsPerStream.toFixed(0)}) µs ` +
      `(hub+agent +${(h.cpuUsPerStream - d.cpuUsPerStream).toFixed(0)} µs), ` +
      `upstream connects/stream ${h.upConnsPerStream.toFixed(2)} vs ${d.upConnsPerStream.toFixed(2)}, failed ${h.failed + d.failed}`,
  );
  if (process.env.JSON) console.log(JSON.stringify(out));
  if (process.env.SERIES)
    for (const name of Object.keys(res))
      console.log(name, res[name].map((r) => Math.round(r.cpuUs)).join(' '));
  child.kill();
  await chain.close();
  process.exit(0);
}

async function load(root) {
  const { Agent, request } = await import(`${root}/node_modules/undici/index.js`);
  const keep = new Agent({ connections: 1024, keepAliveTimeout: 60_000 });
  process.on('message', async ({ url, streams, fresh, leave }) => {
    const dispatcher = fresh ? new Agent({ connections: 1024 }) : keep;
    const heads = [];
    const firsts = [];
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: streams }, async () => {
        try {
          const { statusCode, body } = await request(`${url}/sse`, { dispatcher });
          heads.push(performance.now() - t0);
          if (statusCode !== 200) failed++;
          let seen = false;
          for await (const chunk of body) {
            if (!seen && chunk.includes('data: ')) {
              seen = true;
              firsts.push(performance.now() - t0);
              if (leave) break;
            }
          }
          body.destroy();
        } catch {
          failed++;
        }
      }),
    );
    if (fresh) await dispatcher.destroy();
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? Number.NaN;
    process.send({ head50: median(heads), first50: median(firsts), failed });
  });
}
