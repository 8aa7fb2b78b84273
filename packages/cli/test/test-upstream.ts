import { EventEmitter, once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An upstream for end-to-end tests: `/hold` answers only when the test calls `release()`, so a
 * test can act (send SIGTERM) while a request is provably in flight, without timers.
 */
export async function startTestUpstream(label = 'upstream') {
  const events = new EventEmitter();
  const held: ServerResponse[] = [];
  const seen: { path: string; headers: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    seen.push({ path, headers: req.headers });
    req.resume();
    if (path === '/hold') {
      held.push(res);
      events.emit('held', res);
      return;
    }
    const body = JSON.stringify({ label, path, method: req.method });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    seen,
    /** Resolves when a /hold request reached the upstream. */
    nextHeld: () => (held.length > 0 ? Promise.resolve() : once(events, 'held').then(() => undefined)),
    release(body = 'released') {
      for (const res of held.splice(0)) res.end(body);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
