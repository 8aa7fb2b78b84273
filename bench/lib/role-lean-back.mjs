// The back half of bench/lean-two-hop.mjs (the agent's place) in its own process.
import { startLeanBack } from '../lean-two-hop.mjs';
import { traceUpstream } from './stage-trace.mjs';

export async function start({ ws, upstream, connections }) {
  const back = startLeanBack(ws, upstream, connections ? { connections } : {});
  await back.open;
  return { info: {}, handlers: { traceUpstream } };
}
