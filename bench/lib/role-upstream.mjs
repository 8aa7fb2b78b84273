// The upstream server of every scenario. One process serves all the shapes the scenarios need, by
// path, so a scenario starts one upstream and points direct, one-hop, nginx and hub+agent at it.
//   /              12-byte body (scenario 1)
//   /download?bytes=N, /upload      large bodies, streamed with backpressure (scenario 2)
//   /sse?every=10  an event every 10 ms carrying its send time (scenario 3)
//   /slot          single-slot GPU-like: 20 ms each, 500 when given two at once (scenario 6)
//   /slow?ms=&id=  held for ms, arrivals logged by id (scenario 5)
//   /fragile       the demo's overload model: `fragile.capacity` at once, then queue, then 500s (scenario 8)
import { createServer } from 'node:http';
import { createFragileEndpoint, DEFAULT_FRAGILE } from '@slime/cli';
import { download, upload } from './bulk-upstream.mjs';
import { nowMs } from './clock.mjs';

const SMALL = Buffer.from('hello world\n'); // 12 bytes

export async function start({ slotMs = 20, fragile: fragileModel } = {}) {
  const fragile = createFragileEndpoint({ ...DEFAULT_FRAGILE, ...fragileModel });
  let slotBusy = false;
  let slotLog = []; // { start, end } of each served /slot request
  let slotOverlaps = 0;
  let slowLog = []; // { id, at }
  let sseArrivals = []; // nowMs() of each /sse request's arrival (bench/probes/sse-burst-timeline.mjs)
  let sseOpen = 0; // /sse responses not closed yet (bench/lib/settle.mjs)

  const server = createServer((req, res) => {
    const q = req.url.indexOf('?');
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const params = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
    switch (path) {
      case '/fragile':
        return fragile.handle(req, res);
      case '/download':
        return download(res, Number(params.get('bytes') ?? 0));
      case '/upload':
        return upload(req, res);
      case '/sse':
        sseArrivals.push(nowMs());
        sseOpen++;
        res.on('close', () => sseOpen--);
        return sse(res, Number(params.get('every') ?? 10), params.has('flush'));
      case '/slot': {
        const start = nowMs();
        if (slotBusy) {
          slotOverlaps++;
          res.writeHead(500, { 'content-length': 7 });
          res.end('overlap');
          return;
        }
        slotBusy = true;
        setTimeout(() => {
          slotBusy = false;
          slotLog.push({ start, end: nowMs() });
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
        }, slotMs);
        return;
      }
      case '/slow': {
        slowLog.push({ id: params.get('id'), at: nowMs() });
        setTimeout(() => res.end('ok'), Number(params.get('ms') ?? 100));
        return;
      }
      default:
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
        res.end(SMALL);
    }
  });
  // Long keep-alive so that no load generator connection is closed between rounds.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;
  // a backlog for the connection bursts of scenario 12 (Node's default 511 drops SYNs there)
  await new Promise((r) => server.listen(0, '127.0.0.1', 4096, r));
  const { port } = server.address();
  return {
    info: { url: `http://127.0.0.1:${port}`, port },
    handlers: {
      takeSlotLog() {
        const out = { log: slotLog, overlaps: slotOverlaps };
        slotLog = [];
        slotOverlaps = 0;
        return out;
      },
      slowCount: () => slowLog.length,
      takeFragileStats() {
        const out = fragile.stats();
        fragile.resetStats();
        return out;
      },
      sseOpen: () => sseOpen,
      takeSseArrivals() {
        const out = sseArrivals;
        sseArrivals = [];
        return out;
      },
      takeSlowLog() {
        const out = slowLog;
        slowLog = [];
        return out;
      },
    },
  };
}

function sse(res, everyMs, flush = false) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // ?flush: the head leaves at once, as SSE servers do, so time to headers is measurable apart
  // from the first event (scenario 12)
  if (flush) res.flushHeaders();
  const timer = setInterval(() => res.write(`data: ${nowMs()}\n\n`), everyMs);
  res.on('close', () => clearInterval(timer));
}
