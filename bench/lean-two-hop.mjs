// The floor for "two Node hops and a WebSocket": what hub+agent would cost with no policies, no
// flow control and no streaming, in about 80 lines. A front process serves HTTP and sends each
// request as one WebSocket message to a back process, which forwards it with undici and answers
// with one message (whole body). Bench scenario 1 runs it beside direct, one-hop and hub+agent so
// every run shows how far Slime is from what Node needs for the same two hops.
//   node bench/lean-two-hop.mjs front [PORT]        prints the front's HTTP port and WS port
//   node bench/lean-two-hop.mjs back WS_URL UPSTREAM
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'host',
]);

// message: u32 id | u16 json length | json head | body bytes
function pack(id, head, body) {
  const json = Buffer.from(JSON.stringify(head));
  const out = Buffer.allocUnsafe(6 + json.length + (body?.length ?? 0));
  out.writeUInt32BE(id, 0);
  out.writeUInt16BE(json.length, 4);
  json.copy(out, 6);
  if (body) body.copy(out, 6 + json.length);
  return out;
}
function unpack(buf) {
  const n = buf.readUInt16BE(4);
  return {
    id: buf.readUInt32BE(0),
    head: JSON.parse(buf.toString('utf8', 6, 6 + n)),
    body: buf.subarray(6 + n),
  };
}

/**
 * The front: HTTP in, one WebSocket message out per request; resolves when the back connected.
 * `pending: 'map'` keeps waiting responses in a Map instead (bench/probes/gc-observer-mode.mjs
 * shows what that costs).
 */
export function createLeanFront({ pending: kind = 'ring' } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  // Responses waiting by id, in a ring rather than a Map: a Map with churning keys keeps every
  // request alive through young GCs once one of its tables is promoted (packages/protocol's
  // IdTable says why), and the floor should not pay for that. Fewer than 65,536 in flight.
  const ring = new Array(65536).fill(undefined);
  const map = new Map();
  const put = kind === 'map' ? (id, res) => map.set(id, res) : (id, res) => (ring[id & 0xffff] = res);
  const take =
    kind === 'map'
      ? (id) => {
          const res = map.get(id);
          map.delete(id);
          return res;
        }
      : (id) => {
          const res = ring[id & 0xffff];
          ring[id & 0xffff] = undefined;
          return res;
        };
  let nextId = 0;
  let back = null;
  const connected = new Promise((resolve) => {
    wss.on('connection', (ws) => {
      back = ws;
      ws.on('message', (data) => {
        const { id, head, body } = unpack(data);
        const res = take(id);
        if (!res) return;
        head.headers['content-length'] = String(body.length);
        res.writeHead(head.status, head.headers);
        res.end(body);
      });
      resolve();
    });
  });
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = ++nextId;
      put(id, res);
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
      back.send(
        pack(
          id,
          { method: req.method, path: req.url, headers },
          chunks.length ? Buffer.concat(chunks) : null,
        ),
      );
    });
  });
  server.keepAliveTimeout = 120_000;
  server.on('close', () => wss.close());
  return { server, wss, connected };
}

/** The back: one WebSocket to the front, undici to the upstream. */
export function startLeanBack(wsUrl, upstream, { connections = 256 } = {}) {
  const pool = new Pool(upstream, { connections, pipelining: 1 });
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  ws.on('message', async (data) => {
    const { id, head, body } = unpack(data);
    try {
      const up = await pool.request({
        method: head.method,
        path: head.path,
        headers: head.headers,
        body: body.length ? body : null,
      });
      const buf = Buffer.from(await up.body.arrayBuffer());
      const headers = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) headers[k] = v;
      ws.send(pack(id, { status: up.statusCode, headers }, buf));
    } catch {
      ws.send(pack(id, { status: 502, headers: {} }, null));
    }
  });
  return { ws, pool, open: new Promise((r) => ws.once('open', r)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'front') {
    const { server, wss } = createLeanFront();
    server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () =>
      console.log({ http: server.address().port, ws: wss.address().port }),
    );
  } else {
    startLeanBack(process.argv[3], process.argv[4]);
  }
}
