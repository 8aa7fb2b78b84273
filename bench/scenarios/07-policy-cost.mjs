// Scenario 7: what the policy engine costs. Scenario 1's hub+agent path (32 connections) with ten
// rules that every request evaluates but none trips, vs the same hub build with no rules,
// alternating. Runs once the hub package exports createHub.
import { alternate, cpuUsPerRequest, med, roundRatio } from '../lib/measure.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, fmtRatio } from '../lib/stats.mjs';

export const id = '7';
export const title = 'Policy cost (10 rules vs none)';
export const limitS = 300;
export const quickLimitS = 30;

export function available({ hubModule }) {
  return typeof hubModule.createHub === 'function' ? true : '@slime/hub does not export createHub';
}

// Four deny rules on headers nobody sends, six generous rate limits keyed several ways.
export const TEN_RULES = {
  access: [1, 2, 3, 4].map((i) => ({
    name: `deny-${i}`,
    action: 'deny',
    match: { header: { name: `x-banned-${i}`, value: 'yes' } },
  })),
  ratelimits: ['ip', 'path', 'method', 'header:user-agent', 'ip', 'path'].map((key, i) => ({
    name: `limit-${i}`,
    key,
    limit: 1e9,
    window: i % 2 ? '1s' : '1m',
    algorithm: i % 3 === 0 ? 'token-bucket' : 'sliding-window',
  })),
};

export async function run({ quick, scope }) {
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const none = await startSlime(scope, upstream.info.url, { numWorker: 64 });
  const ten = await startSlime(scope, upstream.info.url, { numWorker: 64, policy: TEN_RULES });
  const variants = [
    { name: 'no rules', url: none.url, pids: none.pids },
    { name: '10 rules', url: ten.url, pids: ten.pids },
  ];
  const seconds = quick ? 1 : 5;
  const rounds = quick ? 3 : 5;
  for (const v of variants) await load.call('autocannon', { url: v.url, connections: 32, seconds: 1 });
  const out = await alternate(variants, rounds, (v) =>
    load.call('autocannon', { url: v.url, connections: 32, seconds }),
  );
  const rows = variants.map((v) => [
    v.name,
    fmt(med(out[v.name], 'rps')),
    fmtRatio(roundRatio(out[v.name], out['no rules'], 'rps')),
    fmt(med(out[v.name], 'p99'), 2),
    fmt(cpuUsPerRequest(out[v.name]), 1),
    out[v.name].reduce((s, x) => s + x.errors, 0),
  ]);
  return {
    tables: [
      {
        title: `autocannon, 32 connections, ${rounds} alternating rounds of ${seconds} s`,
        columns: ['hub', 'req/s', 'vs no rules', 'p99 ms', 'hub+agent CPU µs/req', 'errors'],
        rows,
      },
    ],
    data: out,
  };
}
