// The floor for "two Node hops and a WebSocket": what hub+agent would cost with no policies and no
// flow control, in about 170 lines. A front process serves HTTP and sends each request as one
// WebSocket message to a back process, which forwards it with undici and answers with one message
// (whole body) when the upstream's response has a length, or streams it (head, chunks, end) when
// it has none, as SSE. Bench scenarios 1 and 13 run it beside direct and hub+agent so every run
// shows how far Slime is from what Node needs for the same two hops.
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

/** The end-to-end fields of a request's or response's head. */
function withoutHop(fields) {
  const headers = {};
  for (const [k, v] of Object.entries(fields)) if (!HOP.has(k)) headers[k] = v;
  return headers;
}

// message: u8 kind | u32 id | u16 json length | json head (or none) | body bytes
const REQUEST = 0; // front -> back: head {method, path, headers} and the whole request body
const CANCEL = 1; // front -> back: the client left a streamed response
const WHOLE = 2; // back -> front: head {status, headers} and the whole response body
const HEAD = 3; // back -> front: a streamed response's head; DATA messages and an END follow
const DATA = 4;
const END = 5;

function pack(kind, id, head, body) {
  const json = head === null ? null : Buffer.from(JSON.stringify(head));
  const n = json?.length ?? 0;
  const out = Buffer.allocUnsafe(7 + n + (body?.length ?? 0));
  out[0] = kind;
  out.writeUInt32BE(id, 1);
  out.writeUInt16BE(n, 5);
  json?.copy(out, 7);
  if (body) body.copy(out, 7 + n);
  return out;
}
function unpack(buf) {
  const n = buf.readUInt16BE(5);
  return {
    kind: buf[0],
    id: buf.readUInt32BE(1),
    head: n === 0 ? null : JSON.parse(buf.toString('utf8', 7, 7 + n)),
    body: buf.subarray(7 + n),
  };
}

// Open exchanges by id, in a ring rather than a Map: a Map with churning keys keeps every request
// alive through young GCs once one of its tables is promoted (packages/protocol's IdTable says
// why), and the floor should not pay for that. Fewer than 65,536 in flight.
function ring() {
  const slots = new Array(65536).fill(undefined);
  return {
    get: (id) => slots[id & 0xffff],
    set: (id, v) => {
      slots[id & 0xffff] = v;
    },
    delete: (id) => {
      slots[id & 0xffff] = undefined;
    },
  };
}

/**
 * The front: HTTP in, one WebSocket message out per request; resolves when the back connected.
 * `pending: 'map'` keeps waiting responses in a Map instead (bench/probes/gc-observer-mode.mjs
 * shows what that costs).
 */
export function createLeanFront({ pending: kind = 'ring' } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  const pending = kind === 'map' ? new Map() : ring();
  let nextId = 0;
  let back = null;
  const connected = new Promise((resolve) => {
    wss.on('connection', (ws) => {
      back = ws;
      ws.on('message', (data) => {
        const { kind, id, head, body } = unpack(data);
        const res = pending.get(id);
        if (!res) return;
        if (kind === WHOLE) {
          pending.delete(id);
          head.headers['content-length'] = String(body.length);
          res.writeHead(head.status, head.headers);
          res.end(body);
        } else if (kind === HEAD) {
          res.writeHead(head.status, head.headers);
          res.flushHeaders();
          res.once('close', () => {
            if (pending.get(id) !== res) return;
            pending.delete(id);
            ws.send(pack(CANCEL, id, null, null));
          });
        } else if (kind === DATA) {
          res.write(body);
        } else if (kind === END) {
          pending.delete(id);
          res.end();
        }
      });
      resolve();
    });
  });
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = ++nextId;
      pending.set(id, res);
      back.send(
        pack(
          REQUEST,
          id,
          { method: req.method, path: req.url, headers: withoutHop(req.headers) },
          chunks.length ? Buffer.concat(chunks) : null,
        ),
      );
    });
  });
  server.keepAliveTimeout = 120_000;
  server.on('close', () => wss.close());
  return { server, wss, connected };
}

/**
 * The back: one WebSocket to the front, undici to the upstream. A response with a length is sent
 * whole in one message; one without (SSE, chunked) is streamed: its head, each chunk, its end.
 */
export function startLeanBack(wsUrl, upstream, { connections = 256 } = {}) {
  const pool = new Pool(upstream, { connections, pipelining: 1 });
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  const streaming = ring();
  ws.on('message', async (data) => {
    const { kind, id, head, body } = unpack(data);
    if (kind === CANCEL) {
      streaming.get(id)?.destroy();
      streaming.delete(id);
      return;
    }
    let stream = null;
    try {
      const up = await pool.request({
        method: head.method,
        path: head.path,
        headers: head.headers,
        body: body.length ? body : null,
      });
      if (up.headers['content-length'] !== undefined) {
        const buf = Buffer.from(await up.body.arrayBuffer());
        ws.send(pack(WHOLE, id, { status: up.statusCode, headers: withoutHop(up.headers) }, buf));
        return;
      }
      stream = up.body;
      streaming.set(id, stream);
      ws.send(pack(HEAD, id, { status: up.statusCode, headers: withoutHop(up.headers) }, null));
      for await (const chunk of stream) ws.send(pack(DATA, id, null, chunk));
      if (streaming.get(id) !== stream) return; // cancelled
      streaming.delete(id);
      ws.send(pack(END, id, null, null));
    } catch {
      if (stream === null) ws.send(pack(WHOLE, id, { status: 502, headers: {} }, null));
      else if (streaming.get(id) === stream) {
        // the upstream broke off mid-stream: end what the client has (no cancel came)
        streaming.delete(id);
        ws.send(pack(END, id, null, null));
      }
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
