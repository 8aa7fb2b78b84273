/** Starts a timer; returns a handle for `clearTimer`. Injected so tests drive the clock. */
export type SetTimer = (fn: () => void, ms: number) => unknown;
export type ClearTimer = (handle: unknown) => void;

/** One check of the upstream: resolves when it answers, rejects (with the reason) when not. */
export type HealthProbe = (signal: AbortSignal) => Promise<void>;

export interface UpstreamHealthOptions {
  probe: HealthProbe;
  /** Delay before the second probe; each failed probe doubles it, up to `maxIntervalMs`. */
  intervalMs: number;
  /** The longest wait between two probes. */
  maxIntervalMs: number;
  /** A probe that takes longer fails. Default 5000. */
  probeTimeoutMs?: number;
  random: () => number;
  now: () => number;
  setTimer?: SetTimer;
  clearTimer?: ClearTimer;
  /** The state changed; `reason` says why it went unhealthy ('' on recovery). */
  onChange: (healthy: boolean, reason: string) => void;
  /** A probe failed (the upstream is still down); for logs. */
  onProbeFailed?: (reason: string, failures: number, nextDelayMs: number) => void;
}

/**
 * The wait after `failures` failed probes: the interval doubled per failure, capped, with "equal
 * jitter" — uniform in [half, whole) — so a fleet of agents behind one restarting upstream does not
 * probe it in waves, and the wait never exceeds the nominal delay.
 */
export function probeDelay(
  failures: number,
  intervalMs: number,
  maxMs: number,
  random: () => number,
): number {
  const base = Math.min(maxMs, intervalMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.floor(base / 2 + (random() * base) / 2);
}

/**
 * The health of the agent's one upstream, as a small state machine:
 *
 * - **healthy** (the start): nothing runs. An upstream call that cannot connect (refused, reset
 *   before any answer, connect timeout) calls `markUnhealthy()`.
 * - **unhealthy**: the agent offers no slot. A first probe runs at once (a one-off blip heals in
 *   milliseconds), then one after `probeDelay(failures)`: `intervalMs`, doubling to
 *   `maxIntervalMs`, jittered. The first probe that answers makes it **healthy** again.
 *
 * Probes never overlap and time out after `probeTimeoutMs`. Every timer is cleared by `close()`.
 */
export class UpstreamHealth {
  readonly #o: Required<Omit<UpstreamHealthOptions, 'onProbeFailed'>> &
    Pick<UpstreamHealthOptions, 'onProbeFailed'>;
  #healthy = true;
  #reason = '';
  #since: number;
  #failures = 0;
  #timer: unknown;
  #probe: AbortController | null = null;
  #probeTimeout: unknown;
  #closed = false;

  constructor(options: UpstreamHealthOptions) {
    for (const name of ['intervalMs', 'maxIntervalMs'] as const) {
      const v = options[name];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    if (options.maxIntervalMs < options.intervalMs)
      throw new RangeError('maxIntervalMs must be >= intervalMs');
    this.#o = {
      probeTimeoutMs: 5_000,
      setTimer: (fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      },
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      ...options,
    };
    this.#since = options.now();
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Why the upstream is unhealthy; '' while healthy. */
  get reason(): string {
    return this.#reason;
  }

  /** When the current state began (the injected clock's ms). */
  get since(): number {
    return this.#since;
  }

  /** Probes failed since the upstream went unhealthy. */
  get failures(): number {
    return this.#failures;
  }

  /** A call could not reach the upstream: stop offering slots and start probing. */
  markUnhealthy(reason: string): void {
    if (this.#closed || !this.#healthy) return;
    this.#healthy = false;
    this.#reason = reason;
    this.#since = this.#o.now();
    this.#failures = 0;
    this.#schedule(0);
    this.#o.onChange(false, reason);
  }

  /** Stops probing; the state stays as it is. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#clear();
    if (this.#probeTimeout !== undefined) this.#o.clearTimer(this.#probeTimeout);
    this.#probeTimeout = undefined;
    this.#probe?.abort();
    this.#probe = null;
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#o.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#clear();
    this.#timer = this.#o.setTimer(() => {
      this.#timer = undefined;
      this.#run();
    }, ms);
  }

  #run(): void {
    if (this.#closed || this.#healthy || this.#probe) return;
    const abort = new AbortController();
    this.#probe = abort;
    let settled = false;
    const settle = (err: unknown) => {
      if (settled) return;
      settled = true;
      this.#o.clearTimer(timeout);
      if (this.#probe === abort) {
        this.#probe = null;
        this.#probeTimeout = undefined;
      }
      if (this.#closed) return;
      if (err === undefined) {
        this.#healthy = true;
        this.#reason = '';
        this.#since = this.#o.now();
        this.#failures = 0;
        this.#o.onChange(true, '');
        return;
      }
      this.#failures++;
      const delay = probeDelay(this.#failures, this.#o.intervalMs, this.#o.maxIntervalMs, this.#o.random);
      this.#schedule(delay);
      this.#o.onProbeFailed?.(err instanceof Error ? err.message : String(err), this.#failures, delay);
    };
    const timeout = this.#o.setTimer(() => {
      abort.abort();
      settle(new Error(`health probe took longer than ${this.#o.probeTimeoutMs} ms`));
    }, this.#o.probeTimeoutMs);
    this.#probeTimeout = timeout;
    let probing: Promise<void>;
    try {
      probing = this.#o.probe(abort.signal);
    } catch (err) {
      probing = Promise.reject(err);
    }
    probing.then(
      () => settle(undefined),
      (err: unknown) => settle(err ?? new Error('health probe failed')),
    );
  }
}
