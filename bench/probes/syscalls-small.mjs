// System calls per small request, hub+agent against the lean two-hop floor (scenario 1's processes
// and CLI logger, wrk -c32): `strace -c -f` on each proxy process over a few seconds of load,
// divided by the requests wrk counted meanwhile. Counts hold on a busy machine, unlike times.
//
//   node bench/probes/syscalls-small.mjs [seconds=4] [connections=32]
// At 1 connection every request wakes each process on its own, so the count shows the per-wake-up
// work (timers, deferred flushes) that batching hides at 32.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { childScope } from '../lib/children.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { runWrk, which } from '../lib/tools.mjs';

const seconds = Number(process.argv[2] ?? 4);
const connections = Number(process.argv[3] ?? 32);
const wrk = which('wrk');
if (!wrk || !which('strace')) throw new Error('needs wrk and strace');
const scope = childScope();

async function traced(name, url, pids) {
  await runWrk(wrk, { url, connections, seconds: 2 }); // warm-up
  const files = pids.map((_pid, i) => `/tmp/syscalls-${name}-${i}.txt`);
  const tracers = pids.map((pid, i) => spawn('strace', ['-c', '-f', '-p', String(pid), '-o', files[i]]));
  await new Promise((r) => setTimeout(r, 300));
  const res = await runWrk(wrk, { url, connections, seconds });
  for (const t of tracers) {
    t.kill('SIGINT');
    await once(t, 'exit');
  }
  const requests = res.requests;
  pids.forEach((_, i) => {
    const rows = readFileSync(files[i], 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 5 && /^\d/.test(f[3] ?? ''))
      .map((f) => ({ name: f.at(-1), calls: Number(f[3]) }))
      .filter((r) => r.name !== 'total')
      .sort((a, b) => b.calls - a.calls);
    const total = rows.reduce((s, r) => s + r.calls, 0);
    console.log(
      `${name}[${i}]: ${(total / requests).toFixed(2)} syscalls/req (${requests} requests): ` +
        rows
          .slice(0, 8)
          .map((r) => `${r.name} ${(r.calls / requests).toFixed(2)}`)
          .join(', '),
    );
  });
}

try {
  const upstream = await startUpstream(scope);
  const { front: leanFront, back: leanBack } = await startLean(scope, upstream.info.url);
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 64, log: 'info' });
  await traced('lean', leanFront.info.url, [leanFront.pid, leanBack.pid]);
  await traced('slime', slime.url, slime.pids);
} finally {
  await scope.close();
}
