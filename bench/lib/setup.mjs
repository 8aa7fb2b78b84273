// The topologies the scenarios share, built from child processes in a scenario's scope.
import { signAgentToken } from '@slime/hub';

export const SECRET = 'bench-secret-not-for-production';

export function agentToken(name = 'bench') {
  return signAgentToken({ secret: SECRET, name });
}

export function startUpstream(scope, args = {}) {
  return scope.spawn('upstream', args);
}

/**
 * A hub process and `agentProcs` agent processes (each with `numWorker` slots) in front of
 * `upstreamUrl`. Returns { url, hub, agents, pids } where pids are hub + agents, whose CPU the
 * "proxy CPU per request" figure sums. `log`: a log level; the hub and agents then log as
 * `slime hub run` and `slime agent run` do (JSON lines, one write per event-loop turn), else not at all.
 */
export async function startSlime(
  scope,
  upstreamUrl,
  { numWorker = 64, agentProcs = 1, hubOptions = {}, agentOptions = {}, policy, log } = {},
) {
  const hub = await scope.spawn('hub', { secret: SECRET, options: hubOptions, policy, log });
  const token = await agentToken();
  const agents = [];
  for (let i = 0; i < agentProcs; i++) {
    agents.push(
      await scope.spawn('agent', {
        token,
        hub: hub.info.url,
        upstream: upstreamUrl,
        numWorker,
        options: agentOptions,
        log,
      }),
    );
  }
  return { url: hub.info.url, hub, agents, token, pids: [hub.pid, ...agents.map((a) => a.pid)] };
}

/**
 * The lean two-hop floor (bench/lean-two-hop.mjs): front and back in their own processes, the back
 * connected. `connections`: the back's upstream connections (undici Pool; its default 256).
 */
export async function startLean(scope, upstreamUrl, { connections } = {}) {
  const front = await scope.spawn('lean-front');
  const back = await scope.spawn('lean-back', { ws: front.info.ws, upstream: upstreamUrl, connections });
  await front.call('connected');
  return { url: front.info.url, front, back, pids: [front.pid, back.pid] };
}

/**
 * Scenario 2's processes: upstream, load generator, and a hub with one agent of 4 slots.
 * BENCH_STREAM_WINDOW=bytes tries another per-stream flow-control window on both sides (`win`).
 */
export async function startLargeBodyTopology(scope) {
  const upstream = await startUpstream(scope);
  const load = await scope.spawn('load');
  const win = Number(process.env.BENCH_STREAM_WINDOW) || undefined;
  const slime = await startSlime(scope, upstream.info.url, {
    numWorker: 4,
    ...(win ? { hubOptions: { streamWindow: win }, agentOptions: { streamWindow: win } } : {}),
  });
  return { upstream, load, slime, win };
}
