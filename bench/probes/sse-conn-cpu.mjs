// CPU per NEW client connection of the hub's client listener alone (createClientServer) against
// plain node:http, one trivial response per connection (issue #19, bursts): the server in this
// process, the client in a child, alternating rounds, medians of server CPU µs per connection.
//   node bench/probes/sse-conn-cpu.mjs ROOT [connections=200] [rounds=10]
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
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
  const [root, connsS = '200', roundsS = '10'] = process.argv.slice(2);
  const conns = Number(connsS);
  const rounds = Number(roundsS);
  const { createClientServer } = await import(`${root}/packages/hub/dist/http/server-factory.js`);
  const { pino } = await import(`${root}/node_modules/pino/pino.js`).catch(() => import('pino'));
  const handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('x');
  };
  const plain = createServer({ keepAliveTimeout: 5000 }, handler);
  const hub = createClientServer({ http: { keepAliveTimeout: 5000 }, log: pino({ level: 'silent' }) }).server;
  hub.on('request', handler);
  const servers = { plain, hub };
  for (const s of Object.values(servers)) await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const child = fork(fileURLToPath(import.meta.url), ['--load'], { execArgv: [] });
  const run = (s, n) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ port: s.address().port, n });
    });
  const results = { plain: [], hub: [] };
  for (const s of Object.values(servers)) await run(s, conns);
  for (let r = 0; r < rounds; r++) {
    for (const [name, s] of r % 2 ? Object.entries(servers).reverse() : Object.entries(servers)) {
      const c0 = process.cpuUsage();
      await run(s, conns);
      // let the closes land in the round they belong to
      await new Promise((res) => setTimeout(res, 50));
      const c = process.cpuUsage(c0);
      results[name].push((c.user + c.system) / conns);
    }
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  console.log(
    `per new connection: plain ${med(results.plain).toFixed(1)} µs, hub listener ${med(results.hub).toFixed(1)} µs`,
  );
  child.kill();
  for (const s of Object.values(servers)) s.close();
  process.exit(0);
}
