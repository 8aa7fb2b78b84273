// The yardstick for "one Node hop": a minimal undici reverse proxy, what anyone would write in
// 30 lines. Hub+agent is two hops (hub, agent) plus a WebSocket; comparing with this shows what
// the extra hop and the multiplexing cost. Run alone: node bench/one-hop-proxy.mjs UPSTREAM [PORT]
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);
const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)));

export function createOneHopProxy(upstream, { connections = 256 } = {}) {
  const pool = new Pool(upstream, { connections, pipelining: 1 });
  const server = createServer(async (req, res) => {
    try {
      const noBody = req.method === 'GET' || req.method === 'HEAD';
      const up = await pool.request({
        method: req.method,
        path: req.url,
        headers: strip(req.headers),
        body: noBody ? null : req,
      });
      res.writeHead(up.statusCode, strip(up.headers));
      await pipeline(up.body, res);
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 120_000;
  server.on('close', () => pool.close());
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = createOneHopProxy(process.argv[2]);
  server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => console.log(server.address()));
}
