// Scenario 5: failover. Two agent processes (numWorker 2 each), each with its own upstream that
// holds every request 100 ms, serve a burst of Slime-Block requests; the victim agent is SIGKILLed
// while it has requests in flight. Those must be re-dispatched to the survivor (its upstream then
// sees ids the victim's upstream saw first) and every request must get a 200: lost must be 0.
// Part two repeats the kill with a 64-slot survivor beside it, so a re-sent request never waits
// for a slot and kill -> re-sent is the failover's own time (bench/probes/failover-probe.mjs
// breaks it down further: the hub sees the socket close 6-13 ms after SIGKILL, re-sends within 1 ms).

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
  const victimUpstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const slime = await startSlime(scope, upstream.info.url, { numWorker: 2, agentProcs: 1 });
  const rows = [];
  const data = [];
  const spawnVictim = () =>
    scope.spawn('agent', {
      token: slime.token,
      hub: slime.url,
      upstream: victimUpstream.info.url,
      numWorker: 2,
    });
  /**
   * Clears both upstreams' logs, then starts n Slime-Block requests at once (ids `${prefix}-${i}`);
   * resolves once they are started, with `outcome` for their results.
   */
  const burst = async (prefix) => {
    await upstream.call('takeSlowLog');
    await victimUpstream.call('takeSlowLog');
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const outcome = load.call('burst', {
      url: slime.url,
      path: `/slow?ms=${holdMs}`,
      ids,
      headers: { 'slime-block': '1' },
    });
    return { outcome };
  };
  for (let t = 0; t < trials; t++) {
    // A fresh victim each trial; the survivor (slime.agents[0]) stays.
    const victim = await spawnVictim();
    const { outcome } = await burst(`${t}`);
    // Kill once the victim's upstream has started its third request: the victim is then in the
    // middle of its second pair, so it has requests in flight (poll, bounded by the time limit).
    while ((await victimUpstream.call('slowCount')) < 3) await new Promise((r) => setTimeout(r, 2));
    const killedAt = nowMs();
    await victim.kill('SIGKILL');
    const results = await outcome;
    const survivorLog = await upstream.call('takeSlowLog');
    const victimLog = await victimUpstream.call('takeSlowLog');
    const inFlight = victimLog.filter((e) => e.at > killedAt - holdMs).map((e) => e.id);
    const survivorAt = new Map(survivorLog.map((e) => [e.id, e.at]));
    // Re-dispatched = started at the victim's upstream, then at the survivor's.
    const redispatched = victimLog
      .filter((e) => survivorAt.has(e.id))
      .map((e) => survivorAt.get(e.id) - killedAt);
    // Where the time goes: a re-sent request can start only when one of the survivor's slots is
    // free (its requests hold the upstream 100 ms). For each, the slot it took freed when the
    // survivor's last request that ended before its arrival ended; what follows is the hub's and
    // agents' part (noticing the dead agent, re-queueing, sending).
    const resentIds = new Set(victimLog.filter((e) => survivorAt.has(e.id)).map((e) => e.id));
    const ends = survivorLog.filter((e) => !resentIds.has(e.id)).map((e) => e.at + holdMs);
    const slotWait = [];
    const hubPart = [];
    for (const id of resentIds) {
      const at = survivorAt.get(id);
      const freed = Math.max(killedAt, ...ends.filter((end) => end <= at + 0.5));
      slotWait.push(freed - killedAt);
      hubPart.push(at - freed);
    }
    const lost = results.filter((r) => r.status !== 200).length;
    const lastDone = Math.max(...results.map((r) => r.at)) - killedAt;
    data.push({
      trial: t,
      inFlight,
      redispatched,
      slotWait,
      hubPart,
      lost,
      lastDone,
      statuses: results.map((r) => r.status),
    });
    rows.push([
      t + 1,
      n,
      inFlight.length,
      redispatched.length,
      redispatched.length ? fmt(quantile(redispatched, 0.5), 1) : '-',
      redispatched.length ? fmt(Math.max(...redispatched), 1) : '-',
      slotWait.length ? fmt(quantile(slotWait, 0.5), 1) : '-',
      hubPart.length ? fmt(quantile(hubPart, 0.5), 1) : '-',
      fmt(lastDone, 0),
      lost,
    ]);
  }
  // Part two: the same kill, but a roomy survivor (64 slots) joins, so a re-sent request finds a
  // free slot at once and kill -> re-sent is the hub's and agents' own failover time.
  const roomy = await scope.spawn('agent', {
    token: slime.token,
    hub: slime.url,
    upstream: upstream.info.url,
    numWorker: 64,
  });
  // warm the newcomer's upstream connections, so the first trial does not measure their set-up
  await (await burst('warm')).outcome;
  const roomyRows = [];
  for (let t = 0; t < trials; t++) {
    const victim = await spawnVictim();
    // With 64 free slots beside it the victim may get no request from a burst: burst again
    // (bounded) until it holds one, then kill it.
    let outcome;
    let killedAt;
    for (let round = 0; round < 5 && killedAt === undefined; round++) {
      ({ outcome } = await burst(`r${t}.${round}`));
      let done = false;
      outcome.then(() => {
        done = true;
      });
      while (!done && (await victimUpstream.call('slowCount')) < 1)
        await new Promise((r) => setTimeout(r, 2));
      if (done) continue;
      killedAt = nowMs();
      await victim.kill('SIGKILL');
    }
    if (killedAt === undefined) {
      await victim.kill('SIGKILL');
      roomyRows.push([t + 1, n, 0, 0, '-', '-', '-']);
      continue;
    }
    const results = await outcome;
    const survivorLog = await upstream.call('takeSlowLog');
    const victimLog = await victimUpstream.call('takeSlowLog');
    const survivorAt = new Map(survivorLog.map((e) => [e.id, e.at]));
    const redispatched = victimLog
      .filter((e) => survivorAt.has(e.id))
      .map((e) => survivorAt.get(e.id) - killedAt);
    const lost = results.filter((r) => r.status !== 200).length;
    data.push({ part: 'roomy', trial: t, redispatched, lost });
    roomyRows.push([
      t + 1,
      n,
      victimLog.length,
      redispatched.length,
      redispatched.length ? fmt(quantile(redispatched, 0.5), 1) : '-',
      redispatched.length ? fmt(Math.max(...redispatched), 1) : '-',
      lost,
    ]);
  }
  await roomy.kill('SIGKILL');
  return {
    tables: [
      {
        columns: [
          'trial',
          'requests',
          'in flight on victim',
          're-dispatched',
          'kill -> re-sent p50 ms',
          'kill -> re-sent max ms',
          'of which waiting for a survivor slot p50 ms',
          'of which hub + agents p50 ms',
          'kill -> all done ms',
          'lost (must be 0)',
        ],
        rows,
      },
      {
        title: 'Survivor with free slots (a 64-slot agent joins): kill -> re-sent is the failover itself',
        columns: [
          'trial',
          'requests',
          'started on victim',
          're-dispatched',
          'kill -> re-sent p50 ms',
          'kill -> re-sent max ms',
          'lost (must be 0)',
        ],
        rows: roomyRows,
      },
    ],
    notes: [
      `Each request holds the upstream ${holdMs} ms; with 2 + 2 slots, the burst alone takes about ${(n / 4) * holdMs} ms ` +
        `and about ${(n / 2) * holdMs} ms on the survivor alone. The survivor is busy too, so a re-dispatched ` +
        `request also waits for one of its slots (up to ${holdMs} ms).`,
      'The split: a re-sent request can start only once one of the survivor\'s slots is free; "waiting for a survivor slot" ' +
        'runs from the kill to that moment (0 when a slot was already free), "hub + agents" from then (or from the kill) to ' +
        "the request reaching the survivor's upstream: noticing the dead agent (its socket closes ~10 ms after SIGKILL), re-queueing at the front, sending.",
    ],
    data,
  };
}
