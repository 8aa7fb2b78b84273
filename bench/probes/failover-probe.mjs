// Where does failover time go? An in-process hub (debug log with timestamps), a roomy in-process
// survivor agent, a victim agent in a child process that is SIGKILLed while it holds requests.
// Prints, per trial, kill -> hub notices -> request re-sent -> survivor's upstream sees it.
//   node bench/probes/failover-probe.mjs
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { Writable } from 'node:stream';
import { createAgent } from '@slime/agent';
import pino from 'pino';
import { request } from 'undici';
import { startChain } from '../lib/in-process.mjs';

const root = new URL('../..', import.meta.url).pathname;

if (process.argv[2] === 'victim') {
  const [hub, token, upstream] = process.argv.slice(3);
  const a = createAgent({ hub, token, upstream, numWorker: 2 });
  a.start();
  await a.ready();
  process.send('ready');
} else {
  const now = () => performance.timeOrigin + performance.now();
  const events = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      const line = JSON.parse(chunk);
      events.push({ at: now(), msg: line.msg, line });
      cb();
    },
  });
  const arrivals = [];
  const arrive = (name) => (req, res) => {
    arrivals.push({ at: now(), name, url: req.url });
    setTimeout(() => res.end('ok'), 100);
  };
  const vup = http.createServer(arrive('victim')).listen(0, '127.0.0.1');
  await once(vup, 'listening');
  // the hub and the roomy survivor agent (64 slots) with its upstream
  const { url, token, close } = await startChain(root, arrive('survivor'), {
    numWorker: 64,
    hubOptions: { logger: pino({ level: 'debug' }, sink) },
  });
  for (let t = 0; t < 6; t++) {
    console.log(`trial ${t} start`);
    const child = fork(new URL(import.meta.url).pathname, [
      'victim',
      url,
      token,
      `http://127.0.0.1:${vup.address().port}`,
    ]);
    const t0 = now();
    await once(child, 'message');
    console.log(`  victim ready in ${(now() - t0).toFixed(0)} ms`);
    events.length = 0;
    arrivals.length = 0;
    // the victim may get no request beside 64 free slots: burst again until it holds one
    let burst;
    let killedAt;
    for (let round = 0; round < 5 && killedAt === undefined; round++) {
      arrivals.length = 0;
      burst = Array.from({ length: 40 }, (_, i) =>
        request(`${url}/slow?id=${t}.${round}-${i}`, { headers: { 'slime-block': '1' } }).then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        }),
      );
      let done = false;
      Promise.all(burst).then(() => {
        done = true;
      });
      while (!done && !arrivals.some((a) => a.name === 'victim')) await new Promise((r) => setTimeout(r, 1));
      if (done) continue;
      killedAt = now();
      child.kill('SIGKILL');
    }
    if (killedAt === undefined) {
      child.kill('SIGKILL');
      console.log('  the victim got no request in 5 bursts');
      continue;
    }
    const statuses = await Promise.all(burst);
    console.log(`  burst done ${(now() - killedAt).toFixed(0)} ms after the kill`);
    const victimUrls = new Set(arrivals.filter((a) => a.name === 'victim').map((a) => a.url));
    const resent = arrivals.filter((a) => a.name === 'survivor' && victimUrls.has(a.url) && a.at > killedAt);
    const rel = (x) => (x - killedAt).toFixed(1);
    console.log(
      `trial ${t}: ok ${statuses.filter((s) => s === 200).length}/40, victim got ${victimUrls.size}`,
    );
    for (const e of events.filter((e) => e.at > killedAt - 1 && e.at < killedAt + 1000).slice(0, 12))
      console.log(`  +${rel(e.at)} ms hub: ${e.msg}`);
    for (const a of resent) console.log(`  +${rel(a.at)} ms survivor upstream: ${a.url}`);
  }
  await close();
  vup.close();
}
