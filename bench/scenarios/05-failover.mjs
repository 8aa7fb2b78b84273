// Scenario 5: failover. Two agent processes (numWorker 2 each) serve a burst of Slime-Block
// requests to an upstream that holds each for 100 ms; agent A is SIGKILLed mid-burst. Requests it
// had in flight must be re-dispatched to agent B (the upstream sees their id twice) and every
// request must get a 200: lost must be 0.

import { nowMs } from '../lib/clock.mjs';
import { startSlime, startUpstream } from '../lib/setup.mjs';
import { fmt, quantile } from '../lib/stats.mjs';

export const id = '5';
export const title = 'Failover (kill an agent with requests queued)';
export const limitS = 120;
export const quickLimitS = 45;

export async function run({ quick, scope }) {
  const trials = quick ? 2 : 5;
  const n = 40;
  const holdMs = 100;
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 2, agentProcs: 1 });
  const rows = [];
  const data = [];
  for (let t = 0; t < trials; t++) {
    // A fresh victim each trial; the survivor (slime.agents[0]) stays.
    const victim = await scope.spawn('agent', {
      token: slime.token,
      hub: slime.url,
      upstream: upstream.info.url,
      numWorker: 2,
    });
    await upstream.call('takeSlowLog');
    const ids = Array.from({ length: n }, (_, i) => `${t}-${i}`);
    const outcome = load.call('burst', {
      url: slime.url,
      path: `/slow?ms=${holdMs}`,
      ids,
      headers: { 'slime-block': '1' },
    });
    await new Promise((r) => setTimeout(r, holdMs * 1.5));
    const killedAt = nowMs();
    await victim.kill('SIGKILL');
    const results = await outcome;
    const log = await upstream.call('takeSlowLog');
    const seen = new Map();
    for (const e of log) seen.set(e.id, [...(seen.get(e.id) ?? []), e.at]);
    // Re-dispatched = reached the upstream twice: first through the victim, then the survivor.
    const redispatched = [...seen.values()].filter((a) => a.length > 1).map((a) => a[1] - killedAt);
    const lost = results.filter((r) => r.status !== 200).length;
    const lastDone = Math.max(...results.map((r) => r.at)) - killedAt;
    data.push({ trial: t, redispatched, lost, lastDone, statuses: results.map((r) => r.status) });
    rows.push([
      t + 1,
      n,
      redispatched.length,
      redispatched.length ? fmt(quantile(redispatched, 0.5), 1) : '-',
      redispatched.length ? fmt(Math.max(...redispatched), 1) : '-',
      fmt(lastDone, 0),
      lost,
    ]);
  }
  return {
    tables: [
      {
        columns: [
          'trial',
          'requests',
          're-dispatched',
          'kill -> re-sent p50 ms',
          'kill -> re-sent max ms',
          'kill -> all done ms',
          'lost (must be 0)',
        ],
        rows,
      },
    ],
    notes: [
      `Each request holds the upstream ${holdMs} ms; with 2 + 2 slots, the burst alone takes about ${(n / 4) * holdMs} ms ` +
        `and about ${(n / 2) * holdMs} ms on the survivor alone.`,
    ],
    data,
  };
}
