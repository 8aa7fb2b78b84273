import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How the demo's `/fragile` endpoint behaves: like a GPU inference server, `capacity` requests
 * run at once in about `serviceMs`; up to `queue` more wait their turn; past that it answers a
 * bare 500 at once. Work held beyond capacity slows every request by `penalty` per extra
 * capacity's worth (memory pressure), so an unshaped overload loses goodput as real servers do.
 */
export interface FragileModel {
  capacity: number;
  serviceMs: number;
  queue: number;
  penalty: number;
}

export interface FragileStats {
  ok: number;
  errors: number;
  /** Most requests held at once (running plus queued). */
  peakHeld: number;
  /** Most requests running at once. */
  peakRunning: number;
  /** Latency of the 200s, arrival to response, ms (median and 99th percentile; 0 when none). */
  p50Ms: number;
  p99Ms: number;
}

// Enough for minutes of the demo's rates; older samples give way so memory stays bounded.
const MAX_SAMPLES = 100_000;

export const DEFAULT_FRAGILE: FragileModel = { capacity: 8, serviceMs: 100, queue: 8, penalty: 0.5 };

export interface FragileEndpoint {
  handle(req: IncomingMessage, res: ServerResponse): void;
  stats(): FragileStats;
  resetStats(): void;
  readonly model: FragileModel;
}

export function createFragileEndpoint(
  model: FragileModel = DEFAULT_FRAGILE,
  random: () => number = Math.random,
): FragileEndpoint {
  for (const k of ['capacity', 'serviceMs', 'queue', 'penalty'] as const) {
    if (!(Number.isFinite(model[k]) && model[k] >= 0)) throw new RangeError(`${k} must be a number >= 0`);
  }
  if (model.capacity < 1) throw new RangeError('capacity must be >= 1');
  let running = 0;
  const waiting: Array<() => void> = [];
  let counts = { ok: 0, errors: 0, peakHeld: 0, peakRunning: 0 };
  let latencies: number[] = [];

  const start = (res: ServerResponse, done: () => void, arrived: number) => {
    running++;
    counts.peakRunning = Math.max(counts.peakRunning, running);
    const held = running + waiting.length;
    const excess = Math.max(0, held - model.capacity) / model.capacity;
    const ms = model.serviceMs * (0.9 + 0.2 * random()) * (1 + model.penalty * excess);
    const timer = setTimeout(() => {
      const body = '{"ok":true}\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      counts.ok++;
      if (latencies.length >= MAX_SAMPLES) latencies = latencies.slice(MAX_SAMPLES / 2);
      latencies.push(performance.now() - arrived);
      done();
    }, ms);
    res.on('close', () => {
      clearTimeout(timer);
      done();
    });
  };

  return {
    model,
    handle(req, res) {
      req.resume();
      const held = running + waiting.length;
      if (held >= model.capacity + model.queue) {
        counts.errors++;
        res.writeHead(500, { 'content-type': 'text/plain', 'content-length': 10 });
        res.end('overload\n\n');
        return;
      }
      const arrived = performance.now();
      counts.peakHeld = Math.max(counts.peakHeld, held + 1);
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        running--;
        waiting.shift()?.();
      };
      if (running < model.capacity) {
        start(res, done, arrived);
        return;
      }
      const go = () => start(res, done, arrived);
      waiting.push(go);
      // a client that leaves while queued gives its place up
      res.on('close', () => {
        const i = waiting.indexOf(go);
        if (i >= 0) waiting.splice(i, 1);
      });
    },
    stats() {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
      return { ...counts, p50Ms: at(0.5), p99Ms: at(0.99) };
    },
    resetStats() {
      counts = { ok: 0, errors: 0, peakHeld: 0, peakRunning: 0 };
      latencies = [];
    },
  };
}
