// A WebSocket echo upstream (ws), for the WebSocket round-trip scenario: every message goes back
// as it came (text or binary). Plain HTTP requests get 200 "ok" so the agent's health probe is happy.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

export async function start() {
  const server = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { info: { url: `http://127.0.0.1:${port}`, port } };
}
