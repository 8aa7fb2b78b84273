import { HubError } from '../errors.js';
import type { Policy } from '../pipeline/context.js';
import { abortableSleep } from './abortable-sleep.js';
import { parseCanWait } from './can-wait.js';
import { checkFunction, checkNumber, optNumber } from './check-options.js';

export interface JitterOptions {
  /** Requests wait a uniform random delay in [0, maxDelayMs) before dispatch; > 0. */
  maxDelayMs: number;
  /** Largest delay an `X-Can-Wait` header may ask for, ms (>= maxDelayMs). Default 30000. */
  maxCanWaitMs?: number;
  /** Randomness in [0, 1). */
  random: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: never) => void;
}

/**
 * proxymw's jitter: spreads a synchronized burst (cron jobs, retries in step) over a window
 * before it reaches the upstream. `X-Can-Wait: 2s` tells the hub this request tolerates more delay,
 * which raises its window (never lowers it). A client that leaves while waiting is dropped here,
 * so it never costs the upstream anything.
 *
 * @example
 * const jitter = createJitterPolicy({ maxDelayMs: 200, random: Math.random });
 */
export function createJitterPolicy(options: JitterOptions): Policy {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const maxDelay = checkNumber('maxDelayMs', options.maxDelayMs, { min: 0, exclusiveMin: true });
  const maxCanWait = optNumber('maxCanWaitMs', options.maxCanWaitMs, Math.max(30_000, maxDelay), {
    min: maxDelay,
  });
  const random = checkFunction<() => number>('random', options.random);
  const arm = options.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const disarm = (options.clearTimeout ?? clearTimeout) as (handle: unknown) => void;

  return async function jitter(ctx, next) {
    const header = ctx.req.headers['x-can-wait'];
    let window = maxDelay;
    if (header !== undefined) {
      const raw = Array.isArray(header) ? header.join(',') : header;
      const canWait = parseCanWait(raw);
      if (canWait === undefined) {
        throw new HubError(
          'ERR_HUB_BAD_REQUEST',
          `X-Can-Wait must be a duration such as 250ms, 2s or 1.5; got "${raw.slice(0, 40)}"`,
        );
      }
      window = Math.max(maxDelay, Math.min(canWait, maxCanWait));
    }
    const delay = Math.floor(random() * window);
    ctx.notes.jitterMs = delay;
    // inside an attempt, its own signal (the client's, cut at a fallback try's deadline)
    const signal = ctx.attempt?.signal ?? ctx.signal;
    if (delay > 0) await abortableSleep(delay, signal, arm, disarm);
    if (signal.aborted) throw new HubError('ERR_HUB_CLIENT_GONE', 'client went away during jitter');
    await next();
  };
}
