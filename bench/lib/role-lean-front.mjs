// The front half of bench/lean-two-hop.mjs (the hub's place) in its own process.
import { createLeanFront } from '../lean-two-hop.mjs';
import { traceServer } from './stage-trace.mjs';

export async function start() {
  const { server, wss, connected } = createLeanFront();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await new Promise((r) => (wss.address() ? r() : wss.once('listening', r)));
  const { port } = server.address();
  return {
    info: { url: `http://127.0.0.1:${port}`, port, ws: `ws://127.0.0.1:${wss.address().port}` },
    handlers: { connected: () => connected.then(() => ({})), traceServer },
  };
}
