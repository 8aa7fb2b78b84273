import type { Logger } from 'pino';
import { GLOBAL_TIMERS, type Timers } from '../pipeline/timers.js';
import { checkFunction, checkNumber, optNumber } from './check-options.js';

export interface PromQuery {
  /** A PromQL instant query returning one number. */
  query: string;
  /** At or past this value the cap starts to tighten. */
  warn: number;
  /** At or past this value the cap is at its floor. Below `warn` means lower values are worse. */
  emergency: number;
}

// Without injected timers the signal ticks on one unref'd setInterval (its `set` repeats).
const INTERVAL: Timers = {
  set: (fn, ms) => setInterval(fn, ms).unref(),
  clear: (timer) => clearInterval(timer as NodeJS.Timeout),
};

export interface PromSignalOptions {
  /** Prometheus (or Thanos) base URL, e.g. http://prometheus:9090. */
  url: string;
  queries: PromQuery[];
  /** How often the queries run, ms. Default 15000. */
  intervalMs?: number;
  /** Per-query timeout, ms. Default 10000. */
  timeoutMs?: number;
  /** Cap factor at emergency, (0, 1]. Default 0.1. */
  minFactor?: number;
  fetch?: typeof globalThis.fetch;
  now: () => number;
  /** Timers for the evaluation interval and each query's timeout; default the global ones. */
  timers?: Timers;
  logger?: Logger;
}

export interface PromSignalStats {
  factor: number;
  values: (number | undefined)[];
  errors: number;
  lastSuccessAt: number | undefined;
}

export interface PromSignal {
  /** The cap factor in [minFactor, 1]: 1 while every query is below warn. */
  readonly factor: number;
  stats(): PromSignalStats;
  /** Runs every query once; resolves when all answered or failed. Used by start() and tests. */
  evaluate(): Promise<void>;
  /** Called after an evaluation changed the factor. Returns an unsubscribe. */
  onChange(listener: (factor: number) => void): () => void;
  start(): void;
  close(): Promise<void>;
}

/**
 * proxymw's backpressure signal: PromQL instant queries (`GET /api/v1/query`) with warn and
 * emergency thresholds. Each yields a factor (1 below warn, easing down to `minFactor` at
 * emergency along a square curve: gentle near warn, steep near emergency); the signal's factor is
 * the smallest. A failed query (timeout, HTTP error, no number) keeps its last value and counts an
 * error: a flapping monitor should neither open the gates nor slam them shut.
 */
export function createPromSignal(options: PromSignalOptions): PromSignal {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new TypeError('url must be an absolute http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('url must be http(s)');
  if (!Array.isArray(options.queries) || options.queries.length === 0) {
    throw new TypeError('queries must be a non-empty array');
  }
  const queries = options.queries.map((q, i) => {
    if (typeof q?.query !== 'string' || q.query.length === 0)
      throw new TypeError(`queries[${i}].query must be a string`);
    checkNumber(`queries[${i}].warn`, q.warn);
    checkNumber(`queries[${i}].emergency`, q.emergency);
    if (q.warn === q.emergency) throw new RangeError(`queries[${i}].emergency must differ from warn`);
    return { ...q };
  });
  const intervalMs = optNumber('intervalMs', options.intervalMs, 15_000, { min: 1 });
  const timeoutMs = optNumber('timeoutMs', options.timeoutMs, 10_000, { min: 1 });
  const minFactor = optNumber('minFactor', options.minFactor, 0.1, { min: 0, max: 1, exclusiveMin: true });
  const doFetch = options.fetch ?? globalThis.fetch;
  checkFunction('fetch', doFetch);
  const now = checkFunction<() => number>('now', options.now);
  const log = options.logger;

  const values: (number | undefined)[] = queries.map(() => undefined);
  const listeners = new Set<(f: number) => void>();
  const inflight = new Set<AbortController>();
  let errors = 0;
  let lastSuccessAt: number | undefined;
  let factor = 1;
  // The interval never keeps the process up: an unref'd setInterval, or injected timers re-armed.
  const loopTimers: Timers = options.timers ?? INTERVAL;
  const queryTimers = options.timers ?? GLOBAL_TIMERS;
  let timer: unknown;
  let closing: Promise<void> | undefined;
  let running: Promise<void> | undefined;

  function factorOf(q: PromQuery, v: number | undefined): number {
    if (v === undefined) return 1;
    const x = (v - q.warn) / (q.emergency - q.warn); // 0 at warn, 1 at emergency, either direction
    if (x <= 0) return 1;
    if (x >= 1) return minFactor;
    return 1 - (1 - minFactor) * x * x;
  }

  async function runQuery(i: number): Promise<void> {
    const q = queries[i]!;
    const url = new URL('api/v1/query', base.href.endsWith('/') ? base : `${base.href}/`);
    url.searchParams.set('query', q.query);
    const controller = new AbortController();
    inflight.add(controller);
    const timeout = queryTimers.set(
      () => controller.abort(new Error(`timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const res = await doFetch(url, { signal: controller.signal, headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      values[i] = parseInstant(await res.json());
      lastSuccessAt = now();
    } catch (err) {
      errors++;
      const reason = controller.signal.aborted ? String(controller.signal.reason) : String(err);
      log?.warn({ query: q.query, err: reason }, 'prometheus signal query failed; keeping the last value');
    } finally {
      queryTimers.clear(timeout);
      inflight.delete(controller);
    }
  }

  async function evaluate(): Promise<void> {
    // One evaluation at a time: a slow monitor must not pile up queries.
    if (running) return running;
    running = (async () => {
      await Promise.all(queries.map((_, i) => runQuery(i)));
      const next = Math.min(1, ...queries.map((q, i) => factorOf(q, values[i])));
      if (next !== factor) {
        factor = next;
        for (const l of [...listeners]) l(factor);
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    get factor() {
      return factor;
    },
    stats: () => ({ factor, values: [...values], errors, lastSuccessAt }),
    evaluate,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (timer !== undefined || closing) return;
      void evaluate();
      const tick = () => {
        if (loopTimers !== INTERVAL) timer = loopTimers.set(tick, intervalMs);
        void evaluate();
      };
      timer = loopTimers.set(tick, intervalMs);
    },
    close() {
      closing ??= (async () => {
        if (timer !== undefined) loopTimers.clear(timer);
        timer = undefined;
        for (const c of inflight) c.abort(new Error('closed'));
        await running?.catch(() => {});
      })();
      return closing;
    },
  };
}

/**
 * The number in an instant query's answer: a vector's first sample, or a scalar. An empty vector
 * (a `> threshold` filter that matched nothing) means no pressure. Anything else is an error.
 */
function parseInstant(body: unknown): number | undefined {
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (b?.status !== 'success' || typeof b.data !== 'object' || b.data === null) {
    throw new Error('not a successful Prometheus answer');
  }
  const { resultType, result } = b.data;
  let raw: unknown;
  if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length === 0) return undefined;
    raw = (result[0] as { value?: unknown[] })?.value?.[1];
  } else if (resultType === 'scalar' && Array.isArray(result)) {
    raw = result[1];
  } else {
    throw new Error(`unsupported result type ${String(resultType)}`);
  }
  // Prometheus spells infinities +Inf/-Inf, which Number() does not read.
  const v =
    raw === '+Inf'
      ? Number.POSITIVE_INFINITY
      : raw === '-Inf'
        ? Number.NEGATIVE_INFINITY
        : typeof raw === 'string'
          ? Number(raw)
          : Number.NaN;
  if (Number.isNaN(v)) throw new Error('the answer holds no number');
  return v;
}
