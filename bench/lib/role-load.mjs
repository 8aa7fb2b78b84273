// The load generator, in its own process so that it never shares an event loop with the hub.
// autocannon for fixed-connection HTTP load; small undici clients for bodies, SSE, blocking loops.
import { setMaxListeners } from 'node:events';
import { connect as h2connect } from 'node:http2';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { bulkBody } from './bulk-upstream.mjs';
import { nowMs } from './clock.mjs';
import { quantile } from './stats.mjs';

// Enough sockets for the blocking scenarios; keep-alive like a real client.
const dispatcher = new Agent({ connections: 1024, keepAliveTimeout: 60_000 });

async function runAutocannon({ url, connections, seconds, headers = {} }) {
  const r = await autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
  const ok = r['2xx'];
  return {
    requests: ok,
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

async function download({ url, bytes }) {
  const t0 = performance.now();
  const { statusCode, body } = await request(`${url}/download?bytes=${bytes}`, { dispatcher });
  let got = 0;
  for await (const c of body) got += c.length;
  return { status: statusCode, bytes: got, ms: performance.now() - t0 };
}

async function upload({ url, bytes }) {
  const t0 = performance.now();
  const { statusCode, body } = await request(`${url}/upload`, {
    method: 'POST',
    body: bulkBody(bytes),
    headers: { 'content-length': String(bytes) },
    dispatcher,
  });
  const echoed = Number(await body.text());
  return { status: statusCode, bytes: echoed, ms: performance.now() - t0 };
}

/** Opens `streams` SSE streams for `ms` and returns each event's delay (receive - send), ms. */
async function sse({ url, streams, ms, everyMs = 10 }) {
  const delays = [];
  const ac = new AbortController();
  // one signal for every stream, by design: not a listener leak
  setMaxListeners(0, ac.signal);
  const timer = setTimeout(() => ac.abort(), ms);
  const one = async () => {
    try {
      const { body } = await request(`${url}/sse?every=${everyMs}`, { dispatcher, signal: ac.signal });
      let buf = '';
      for await (const chunk of body) {
        const at = nowMs();
        buf += chunk.toString();
        let i = buf.indexOf('\n\n');
        while (i !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (line.startsWith('data: ')) delays.push(at - Number(line.slice(6)));
          i = buf.indexOf('\n\n');
        }
      }
    } catch (err) {
      if (err.name !== 'AbortError' && err.code !== 'UND_ERR_ABORTED') throw err;
    }
  };
  await Promise.all(Array.from({ length: streams }, one));
  clearTimeout(timer);
  return { delays };
}

/**
 * `streams` SSE requests started at once (scenario 12): each one's time from the burst's start to
 * its response head and to its first event, ms; then all are closed.
 */
async function sseBurst({ url, streams, everyMs = 100, timeoutMs = 30_000 }) {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const heads = [];
  const firsts = [];
  let failed = 0;
  let firstSeen = 0;
  let allFirst;
  const all = new Promise((r) => {
    allFirst = r;
  });
  const t0 = performance.now();
  const startedAt = nowMs();
  const one = async () => {
    try {
      const { statusCode, body } = await request(`${url}/sse?every=${everyMs}&flush=1`, {
        dispatcher,
        signal: ac.signal,
      });
      heads.push(performance.now() - t0);
      if (statusCode !== 200) failed++;
      for await (const chunk of body) {
        if (chunk.includes('data: ')) {
          firsts.push(performance.now() - t0);
          break;
        }
      }
      body.destroy();
    } catch (err) {
      if (err.name !== 'AbortError' && err.code !== 'UND_ERR_ABORTED') failed++;
    } finally {
      if (++firstSeen === streams) allFirst();
    }
  };
  const runs = Array.from({ length: streams }, one);
  await all;
  clearTimeout(timer);
  ac.abort();
  await Promise.allSettled(runs);
  return { heads, firsts, failed, startedAt };
}

/**
 * `clients` loops each sending one request at a time to `path` for `ms`; counts statuses and
 * returns latency quantiles (sub-millisecond, unlike autocannon's whole milliseconds).
 */
async function loop({ url, path = '/', clients, ms, headers = {}, timeline = false }) {
  const statuses = {};
  const latencies = [];
  const okLatencies = [];
  // with `timeline`: [completion time (performance.now()), latency] of each 200, so a scenario can
  // count only a steady window (closed-loop clients drain their queued requests after `ms`)
  const okTimeline = [];
  let errors = 0;
  const end = performance.now() + ms;
  const one = async () => {
    while (performance.now() < end) {
      try {
        const t = performance.now();
        const { statusCode, body } = await request(url + path, { dispatcher, headers });
        await body.dump();
        latencies.push(performance.now() - t);
        if (statusCode === 200) okLatencies.push(latencies.at(-1));
        if (timeline && statusCode === 200) okTimeline.push([performance.now(), latencies.at(-1)]);
        statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, one));
  const wall = performance.now() - t0;
  return {
    statuses,
    errors,
    ms: wall,
    requests: latencies.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    okP50: quantile(okLatencies, 0.5),
    okP99: quantile(okLatencies, 0.99),
    ...(timeline ? { t0, okTimeline } : {}),
  };
}

/** Fires requests for `ids` at once; returns each one's outcome (for failover). */
async function burst({ url, ids, path, headers = {} }) {
  return Promise.all(
    ids.map(async (id) => {
      try {
        const {
          statusCode,
          headers: h,
          body,
        } = await request(`${url}${path}&id=${id}`, { dispatcher, headers });
        await body.dump();
        return { id, status: statusCode, agent: h['slime-agent-id'] ?? '', at: nowMs() };
      } catch (err) {
        return { id, status: 0, error: err.message, at: nowMs() };
      }
    }),
  );
}

/**
 * `clients` loops, one request at a time each, for `seconds`: over HTTP/1.1 keep-alive (undici,
 * one connection per loop) or HTTP/2 (node:http2, one session per loop, prior knowledge on
 * http://). The same loop both ways, so the protocol is the only difference.
 */
async function protoLoop({ url, clients, seconds, proto }) {
  const latencies = [];
  let errors = 0;
  let ok = 0;
  const end = performance.now() + seconds * 1000;
  const h1 = proto === 'h1' ? new Agent({ connections: clients, keepAliveTimeout: 60_000 }) : undefined;
  const one = async () => {
    const session = proto === 'h2' ? h2connect(url) : undefined;
    session?.on('error', () => {});
    const once = () =>
      session
        ? new Promise((resolve, reject) => {
            const s = session.request({ ':path': '/' });
            let status = 0;
            s.on('response', (h) => {
              status = h[':status'];
            });
            s.on('data', () => {});
            s.on('end', () => resolve(status));
            s.on('error', reject);
          })
        : request(url, { dispatcher: h1 }).then(async ({ statusCode, body }) => {
            await body.dump();
            return statusCode;
          });
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const status = await once();
        latencies.push(performance.now() - t);
        if (status === 200) ok++;
        else errors++;
      } catch {
        errors++;
      }
    }
    session?.close();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, one));
  const wall = (performance.now() - t0) / 1000;
  await h1?.close();
  return {
    requests: ok,
    rps: ok / wall,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
  };
}

export async function start() {
  return { handlers: { autocannon: runAutocannon, download, upload, sse, sseBurst, loop, burst, protoLoop } };
}
