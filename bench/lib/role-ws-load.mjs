// The WebSocket round-trip load: `sockets` clients each send a small message, wait for its echo,
// and send the next at once (one in flight per socket), for `ms`. Returns every round-trip time.
import { once } from 'node:events';
import { WebSocket } from 'ws';

async function echo({ url, sockets, ms, bytes = 64 }) {
  const wsUrl = url.replace(/^http/, 'ws');
  const clients = await Promise.all(
    Array.from({ length: sockets }, async (_, i) => {
      const ws = new WebSocket(`${wsUrl}/echo/${i}`, {
        perMessageDeflate: false,
        headers: { 'slime-block': '1' },
      });
      await once(ws, 'open');
      return ws;
    }),
  );
  const payload = Buffer.alloc(bytes, 7);
  const rtts = [];
  const until = performance.now() + ms;
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise((resolve) => {
          let sent = 0;
          const next = () => {
            if (performance.now() >= until) return resolve();
            sent = performance.now();
            ws.send(payload);
          };
          ws.on('message', () => {
            rtts.push(performance.now() - sent);
            next();
          });
          next();
        }),
    ),
  );
  await Promise.all(
    clients.map(async (ws) => {
      const closed = once(ws, 'close');
      ws.close(1000);
      await closed;
    }),
  );
  return { rtts };
}

export async function start() {
  return { handlers: { echo } };
}
