// Runs bench/one-hop-proxy.mjs in its own process.
import { createOneHopProxy } from '../one-hop-proxy.mjs';

export async function start({ upstream }) {
  const server = createOneHopProxy(upstream);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { info: { url: `http://127.0.0.1:${port}`, port } };
}
