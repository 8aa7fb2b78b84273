// The hub's own CPU per request, A/B between built checkouts: per round and root, a child process
// runs that root's hub (with the CLI's logger at info, as `slime hub run`) in front of the same
// agent (64 slots) and upstream processes of this tree, under wrk -c32, and reports the hub
// process's CPU µs per request. Rounds alternate the roots, so load from other work weighs on both.
//   node bench/probes/hub-ab.mjs ROUNDS ROOT_A ROOT_B [...]     (a child: hub-ab.mjs --one ROOT)
// `ROOT::--flag,--flag2` runs that root's hub with extra node flags (the same ROOT may appear with
// different flags). Each hub gets the CLI's heap setting (--heap-growing-percent=300) unless its
// flags name their own.
import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

if (process.argv[2] === '--one') {
  const root = resolve(process.argv[3]);
  const { applyCliHeapTuning } = await import('../lib/cli-heap.mjs');
  applyCliHeapTuning();
  const [warm, secs] = [Number(process.env.WARM ?? 3), Number(process.env.SECS ?? 5)];
  const { childScope } = await import('../lib/children.mjs');
  const { agentToken, SECRET, startUpstream } = await import('../lib/setup.mjs');
  const { devNullWriter } = await import('../lib/cli-logger.mjs');
  const { which } = await import('../lib/tools.mjs');
  const { createHub } = await import(`${root}/packages/hub/dist/index.js`);
  const { createLogger } = await import(`${root}/packages/cli/dist/logger.js`);
  const scope = childScope();
  const upstream = await startUpstream(scope);
  const hub = createHub({
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    metrics: { defaultMetrics: false },
    logger: createLogger({ level: 'info', format: 'json', write: devNullWriter() }),
  });
  const { url } = await hub.listen();
  await scope.spawn('agent', {
    token: await agentToken(),
    hub: url,
    upstream: upstream.info.url,
    numWorker: 64,
    log: 'info',
  });
  const wrk = async (s) => {
    const { stdout } = await promisify(execFile)(which('wrk'), ['-t1', '-c32', `-d${s}s`, url]);
    return Number(/(\d+) requests in/.exec(stdout)[1]);
  };
  await wrk(warm);
  const c0 = process.cpuUsage();
  const n = await wrk(secs);
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ requests: n, usPerReq: (c.user + c.system) / n, userUs: c.user / n }));
  await scope.close();
  await hub.close();
  process.exit(0);
}

const [roundsS, ...roots] = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);
const res = Object.fromEntries(roots.map((r) => [r, []]));
for (let i = 0; i < Number(roundsS); i++) {
  for (const root of roots) {
    const [dir, flags = ''] = root.split('::');
    const nodeArgs = flags ? flags.split(',') : [];
    const out = JSON.parse(
      execFileSync(process.execPath, [...nodeArgs, self, '--one', dir], { encoding: 'utf8' }),
    );
    res[root].push(out.usPerReq);
    console.log(
      `round ${i + 1} ${root}: hub ${out.usPerReq.toFixed(1)} µs/req (user ${out.userUs.toFixed(1)}, ${out.requests} requests)`,
    );
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const root of roots) console.log(`median ${root}: hub ${median(res[root]).toFixed(1)} µs/req`);
