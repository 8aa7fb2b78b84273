// CPU per NEW client connection of the hub's client listener alone (createClientServer) against
// plain node:http, one trivial response per connection (issue #19, bursts): the server in this
// process, the client in a child, alternating rounds, medians of server CPU µs per connection.
//   node bench/probes/sse-conn-cpu.mjs ROOT [connections=200] [rounds=10] [ROOT_B]
// With ROOT_B, ROOT_B's listener joins the rotation (A/B of two checkouts in one process). CPU is
// the main thread's (/proc/self/task): V8's helper threads and the load's noise stay out of it.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--load') {
  process.on('message', async ({ port, n }) => {
    const done = [];
    for (let i = 0; i < n; i++) {
      const agent = new Agent({ keepAlive: false });
      done.push(
        new Promise((resolve) => {
          const req = request({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', resolve);
          req.end();
        }),
      );
    }
    await Promise.all(done);
    process.send('ok');
  });
} else {
  const [root, connsS = '200', roundsS = '10', rootB] = process.argv.slice(2);
  const conns = Number(connsS);
  const rounds = Number(roundsS);
  const handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('x');
  };
  const hubListener = async (r) => {
    const { createClientServer } = await import(`${resolve(r)}/packages/hub/dist/http/server-factory.js`);
    const { pino } = await import(`${resolve(r)}/node_modules/pino/pino.js`).catch(() => import('pino'));
    const s = createClientServer({ http: { keepAliveTimeout: 5000 }, log: pino({ level: 'silent' }) }).server;
    s.on('request', handler);
    return s;
  };
  const plain = createServer({ keepAliveTimeout: 5000 }, handler);
  const servers = { plain, hub: await hubListener(root) };
  if (rootB) servers.hubB = await hubListener(rootB);
  for (const s of Object.values(servers)) await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const child = fork(fileURLToPath(import.meta.url), ['--load'], { execArgv: [] });
  const run = (s, n) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ port: s.address().port, n });
    });
  const results = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
  // the main thread's CPU µs (utime+stime of this thread, 10 ms ticks)
  const mainCpuUs = () => {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(v[11]) + Number(v[12])) * 10_000;
  };
  for (const s of Object.values(servers)) await run(s, conns);
  for (let r = 0; r < rounds; r++) {
    for (const [name, s] of r % 2 ? Object.entries(servers).reverse() : Object.entries(servers)) {
      const m0 = mainCpuUs();
      await run(s, conns);
      // let the closes land in the round they belong to
      await new Promise((res) => setTimeout(res, 50));
      results[name].push((mainCpuUs() - m0) / conns);
    }
  }
  // the mean: each round is a whole number of 10 ms ticks, the mean of many rounds is not
  const med = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(
    `per new connection (main thread, mean of rounds): ${Object.entries(results)
      .map(([k, v]) => `${k} ${med(v).toFixed(1)} µs`)
      .join(', ')}`,
  );
  child.kill();
  for (const s of Object.values(servers)) s.close();
  process.exit(0);
}
