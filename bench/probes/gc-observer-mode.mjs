// What puts the lean front (bench/lean-two-hop.mjs) into the bad GC mode (docs/bench.md,
// "Answered: the two GC modes"), with GC read from outside: the front runs under --trace-gc-nvp,
// and its scavenges under 8 s of wrk -c32 are summed from that output. RUNS fresh fronts per
// variant. `pending` (the cause): waiting responses in a Map, then in a ring; `observer`: no GC
// observer, then one (gc-count.mjs's countGc, what the children's `gc` command starts).
//   node bench/probes/gc-observer-mode.mjs [runs=3] [pending|observer]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { childScope, track } from '../lib/children.mjs';
import { startUpstream } from '../lib/setup.mjs';
import { runWrk, which } from '../lib/tools.mjs';

const runs = Number(process.argv[2] ?? 3);
// `pending`: the front's waiting responses in a Map, then in a ring (no observer either way);
// `observer`: no GC observer, then one (ring)
const compare = process.argv[3] ?? 'pending';
if (compare !== 'pending' && compare !== 'observer') throw new RangeError('compare: pending|observer');
const LEAN = fileURLToPath(new URL('../lean-two-hop.mjs', import.meta.url));
// the front, saying when the back has connected (the front's own CLI mode does not)
const FRONT = (kind) => `import { createLeanFront } from '${new URL('../lean-two-hop.mjs', import.meta.url)}';
const { server, wss, connected } = createLeanFront({ pending: '${kind}' });
server.listen(0, '127.0.0.1', () => {
  const ready = () => console.log('http: ' + server.address().port + ' ws: ' + wss.address().port);
  if (wss.address()) ready(); else wss.once('listening', ready);
});
connected.then(() => console.log('connected'));`;
const OBSERVER = `data:text/javascript,import { countGc } from '${new URL('../lib/gc-count.mjs', import.meta.url)}'; countGc();`;
const wrkPath = which('wrk');
const tracked = (proc) => {
  track(proc);
  return proc;
};

async function once8s(upstream, observer, kind) {
  const front = tracked(
    spawn(
      process.execPath,
      [
        '--trace-gc-nvp',
        ...(observer ? ['--import', OBSERVER] : []),
        '--input-type=module',
        '-e',
        FRONT(kind),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  let out = '';
  front.stdout.setEncoding('utf8').on('data', (c) => {
    out += c;
  });
  while (!/ws: (\d+)/.test(out)) await once(front.stdout, 'data');
  const http = Number(/http: (\d+)/.exec(out)[1]);
  const ws = Number(/ws: (\d+)/.exec(out)[1]);
  const back = tracked(
    spawn(process.execPath, [LEAN, 'back', `ws://127.0.0.1:${ws}`, upstream], { stdio: 'inherit' }),
  );
  const url = `http://127.0.0.1:${http}/`;
  while (!out.includes('connected')) await once(front.stdout, 'data');
  await runWrk(wrkPath, { url, connections: 32, seconds: 2 });
  const from = out.length;
  const load = await runWrk(wrkPath, { url, connections: 32, seconds: 8 });
  const scav = out
    .slice(from)
    .split('\n')
    .filter((l) => / gc=s /.test(l))
    .map((l) => ({
      pause: Number(/pause=([\d.]+)/.exec(l)[1]),
      promoted: Number(/promoted=(\d+)/.exec(l)[1]),
    }));
  front.kill('SIGKILL');
  back.kill('SIGKILL');
  const ms = scav.reduce((a, s) => a + s.pause, 0) / (scav.length || 1);
  const kb = scav.reduce((a, s) => a + s.promoted, 0) / (scav.length || 1) / 1024;
  return `${(load.requests / 8).toFixed(0)} req/s, ${scav.length} scavenges × ${ms.toFixed(1)} ms, promoted ${kb.toFixed(0)} KB each`;
}

const scope = childScope();
try {
  const upstream = (await startUpstream(scope)).info.url;
  const variants =
    compare === 'pending'
      ? [
          ['pending in a Map', false, 'map'],
          ['pending in a ring', false, 'ring'],
        ]
      : [
          ['no observer', false, 'ring'],
          ['GC observer', true, 'ring'],
        ];
  for (const [name, observer, kind] of variants) {
    for (let r = 0; r < runs; r++) {
      console.log(`${name} run ${r + 1}: ${await once8s(upstream, observer, kind)}`);
    }
  }
} finally {
  await scope.close();
}
process.exit(0);
