// Scenario 1: small requests (12-byte response, keep-alive) at 32 and 256 connections, through
// direct, a one-hop undici proxy, the lean two-hop floor, nginx (if installed), hub+agent (numWorker 64), and hub+agent
// with Slime-Block: 1 and numWorker 16 (requests beyond 16 wait in the hub's queue); and
// hub+agent with HTTP/2 clients (h2c prior knowledge) beside HTTP/1.1 ones.
import { alternate, cpuUsPerRequest, med, roundRatio } from '../lib/measure.mjs';
import { startLean, startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, fmtRatio } from '../lib/stats.mjs';
import { runWrk, startNginx } from '../lib/tools.mjs';

export const id = '1';
export const title = 'Small requests (12-byte response, keep-alive)';
export const limitS = 900;
export const quickLimitS = 90;

export async function run({ quick, tools, scope }) {
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  // Hub and agent log as `slime hub run` / `slime agent run` do by default (level info: an access
  // line per request), so the rows measure the default configuration.
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 64, log: 'info' });
  const slimeBlock = await startSlime(scope, upstream.info.url, { numWorker: 16, log: 'info' });
  const onehop = await scope.spawn('one-hop', { upstream: upstream.info.url });
  // The floor: two Node processes and one WebSocket, no policies (bench/lean-two-hop.mjs).
  const { front: leanFront, back: leanBack } = await startLean(scope, upstream.info.url);

  const variants = [
    { name: 'direct', url: upstream.info.url, pids: [upstream.pid] },
    { name: 'one-hop (undici)', url: onehop.info.url, pids: [onehop.pid] },
    { name: 'lean two-hop', url: leanFront.info.url, pids: [leanFront.pid, leanBack.pid] },
  ];
  if (tools.nginx) {
    const nginx = await startNginx(tools.nginx, upstream.info.port);
    scope.defer(() => nginx.close());
    variants.push({ name: 'nginx', url: nginx.url, pids: [nginx.pid] });
  }
  variants.push(
    { name: 'hub+agent (64)', url: slime.url, pids: slime.pids },
    {
      name: 'hub+agent Slime-Block (16)',
      url: slimeBlock.url,
      pids: slimeBlock.pids,
      headers: { 'slime-block': '1' },
    },
  );

  // The CPU split of two-process rows: hub / agent, lean front / back.
  const perProcess = (v, r) =>
    v.pids.length === 2 ? `${fmt(cpuUsPerRequest(r, 0), 1)} / ${fmt(cpuUsPerRequest(r, 1), 1)}` : '';

  const seconds = quick ? 1 : 5;
  const rounds = quick ? 2 : 5;
  const generators = [['autocannon', (opts) => load.call('autocannon', opts)]];
  if (tools.wrk) generators.push(['wrk', (opts) => runWrk(tools.wrk, opts)]);

  // Warm-up: JIT, keep-alive pools and agent slots, so round 1 is not a cold start.
  for (const v of variants)
    await load.call('autocannon', { url: v.url, connections: 32, seconds: 1, headers: v.headers });

  const tables = [];
  const data = {};
  for (const [gen, measure] of generators) {
    const rows = [];
    for (const connections of [32, 256]) {
      const res = await alternate(variants, rounds, (v) =>
        measure({ url: v.url, connections, seconds, headers: v.headers ?? {} }),
      );
      data[`${gen}/${connections}`] = res;
      const direct = res.direct;
      for (const v of variants) {
        const r = res[v.name];
        rows.push([
          connections,
          v.name,
          fmt(med(r, 'rps')),
          fmtRatio(roundRatio(r, direct, 'rps')),
          fmt(med(r, 'p50'), 2),
          fmt(med(r, 'p99'), 2),
          fmt(cpuUsPerRequest(r), 1),
          perProcess(v, r),
          r.reduce((s, x) => s + x.errors, 0),
        ]);
      }
    }
    tables.push({
      title: `${gen}: ${rounds} alternating rounds of ${seconds} s (medians)`,
      columns: [
        'conns',
        'path',
        'req/s',
        'vs direct',
        'p50 ms',
        'p99 ms',
        'server CPU µs/req',
        'per process',
        'errors',
      ],
      rows,
    });
  }
  // HTTP/2 beside HTTP/1.1 through hub+agent: the same one-at-a-time client loop both ways
  // (autocannon and wrk speak HTTP/1.1 only), 32 clients.
  const protoVariants = [
    { name: 'hub+agent (64), HTTP/1.1', proto: 'h1', url: slime.url, pids: slime.pids },
    { name: 'hub+agent (64), HTTP/2 (h2c)', proto: 'h2', url: slime.url, pids: slime.pids },
  ];
  for (const v of protoVariants)
    await load.call('protoLoop', { url: v.url, clients: 32, seconds: 1, proto: v.proto });
  const protoRes = await alternate(protoVariants, rounds, (v) =>
    load.call('protoLoop', { url: v.url, clients: 32, seconds, proto: v.proto }),
  );
  data['proto/32'] = protoRes;
  const h1 = protoRes[protoVariants[0].name];
  tables.push({
    title: `HTTP/2 and HTTP/1.1 clients (node:http2 / undici loops, 32 clients, one request at a time each): ${rounds} alternating rounds of ${seconds} s (medians)`,
    columns: ['path', 'req/s', 'vs HTTP/1.1', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'errors'],
    rows: protoVariants.map((v) => {
      const r = protoRes[v.name];
      return [
        v.name,
        fmt(med(r, 'rps')),
        fmtRatio(roundRatio(r, h1, 'rps')),
        fmt(med(r, 'p50'), 2),
        fmt(med(r, 'p99'), 2),
        fmt(cpuUsPerRequest(r), 1),
        r.reduce((s, x) => s + x.errors, 0),
      ];
    }),
  });
  const notes = [
    'server CPU µs/req: user+sys of the serving processes (direct: upstream; one-hop: proxy; nginx: its worker; ' +
      'lean two-hop: front + back; hub+agent: hub + agent) divided by requests served; the upstream is excluded from proxy rows.',
    'per process: the CPU µs/req of each process of a two-process row (hub / agent; lean: front / back). ' +
      'Hub and agent log at level info as the CLI does (JSON lines written to /dev/null, bench/lib/cli-logger.mjs).',
    'lean two-hop: bench/lean-two-hop.mjs, the floor for two Node hops and one WebSocket (no policies, no flow control, whole bodies).',
  ];
  notes.push(
    'hub+agent (64) at 256 connections: more clients than slots and no Slime-Block, so most requests get the ' +
      'designed immediate 503 (counted as errors); compare the Slime-Block row, whose extra requests wait in the hub queue.',
  );
  if (!tools.wrk) notes.push('wrk: not installed (autocannon only).');
  if (!tools.nginx) notes.push('nginx: not installed (no nginx row).');
  // The figures issues 3 and 5 ask for, from the most precise generator available.
  const best = tools.wrk ? 'wrk' : 'autocannon';
  const pick = (conns, name) => data[`${best}/${conns}`][name];
  const hub32 = pick(32, 'hub+agent (64)');
  const block256 = pick(256, 'hub+agent Slime-Block (16)');
  const headline = [
    [
      `small requests, 32 conns (${best}), hub+agent vs direct`,
      `${fmt(med(hub32, 'rps'))} req/s (${fmtRatio(roundRatio(hub32, pick(32, 'direct'), 'rps'))}), ` +
        `p50 ${fmt(med(hub32, 'p50'), 2)} ms, p99 ${fmt(med(hub32, 'p99'), 2)} ms; direct p50 ${fmt(med(pick(32, 'direct'), 'p50'), 2)} ms, p99 ${fmt(med(pick(32, 'direct'), 'p99'), 2)} ms`,
    ],
    [
      `Slime-Block, numWorker 16, 256 conns (${best}) vs direct`,
      `${fmt(med(block256, 'rps'))} req/s (${fmtRatio(roundRatio(block256, pick(256, 'direct'), 'rps'))})`,
    ],
  ];
  return { tables, notes, data, headline };
}
